"""Every SARIF document cnsec can write validates against the official SARIF 2.1.0 schema (OASIS,
vendored in tests/report/data), and each command's run has its own ``automationDetails.id`` so that
code scanning keeps their uploads apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cnsec.cli import main
from tests.assess.test_assess_cli import PRIVILEGED_POD
from tests.vulns.helpers import build_index

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def validate(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])
    return doc


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Findings of every pillar, a suppressed one, an unreadable input, a skipped one."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "pod.yaml").write_text(PRIVILEGED_POD)
    (root / "quiet.yaml").write_text(PRIVILEGED_POD.replace("metadata:\n", "metadata:\n  annotations:\n"
                                                            "    cnsec.io/ignore: 'CNSEC-K8S-001=lab only'\n", 1))
    (root / "broken.yaml").write_text("kind: Pod\nmetadata: [unclosed\n")
    (root / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIA' + "QYLPMN5HHHFPZAM2" + '"\n')
    (root / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{kind: ServiceAccount, name: ci, namespace: default}]\n")
    (root / "requirements.txt").write_text("demo-pkg==1.5\nother==1.4\n")
    (root / "requirements-dev.txt").write_text("broken ===\n")
    (root / "weird name #1.yaml").write_text(PRIVILEGED_POD.replace("name: ", "name: w", 1))
    return root


def sarif_of(tmp_path: Path, *argv: str) -> dict[str, Any]:
    out = tmp_path / f"{argv[0]}-{len(list(tmp_path.iterdir()))}.sarif"
    main([*argv, "-f", "sarif", "-o", str(out), "--fail-on", "none"])
    return validate(out)


def test_the_assessment_sarif_is_valid_sarif_2_1_0(tmp_path: Path, tree: Path) -> None:
    doc = sarif_of(tmp_path, "assess", str(SHOP), str(tree))
    run = doc["runs"][0]
    assert run["results"] and any("suppressions" in r for r in run["results"])
    assert run["invocations"][0]["toolExecutionNotifications"]  # the broken manifest
    assert run["automationDetails"]["id"] == "cnsec/assess/"


def test_an_assessment_of_nothing_is_valid_sarif_with_its_warning(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing to assess\n")
    doc = sarif_of(tmp_path, "assess", str(tmp_path / "empty"))
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("nothing was assessed" in n["message"]["text"] for n in notes)


def test_the_secret_scan_sarif_is_valid_sarif_2_1_0(tmp_path: Path, tree: Path) -> None:
    doc = sarif_of(tmp_path, "data", "scan", str(tree))
    run = doc["runs"][0]
    assert any(r["ruleId"].startswith("CNSEC-SECRET") or "aws" in r["ruleId"].lower() for r in run["results"])
    assert run["automationDetails"]["id"] == "cnsec/scan/"


def test_the_rbac_audit_sarif_is_valid_sarif_2_1_0(tmp_path: Path, tree: Path) -> None:
    doc = sarif_of(tmp_path, "iam", "audit", str(SHOP), str(tree))
    run = doc["runs"][0]
    assert run["results"]
    assert run["automationDetails"]["id"] == "cnsec/iam-audit/"


def test_the_vulnerability_sarif_is_valid_sarif_2_1_0(tmp_path: Path, tree: Path) -> None:
    db = build_index(tmp_path / "index")
    doc = sarif_of(tmp_path, "vulns", str(tree), "--db", str(db))
    run = doc["runs"][0]
    assert {r["ruleId"] for r in run["results"]} >= {"PYSEC-2099-1"}
    assert run["invocations"][0]["toolExecutionNotifications"]  # the unreadable requirement line
    assert run["automationDetails"]["id"] == "cnsec/vulns/"


def test_each_command_uploads_under_its_own_category(tmp_path: Path, tree: Path) -> None:
    """GitHub's category is the id up to its last '/': uploads of one commit must not replace each other."""
    db = build_index(tmp_path / "index")
    ids = [sarif_of(tmp_path, *argv)["runs"][0]["automationDetails"]["id"]
           for argv in (["assess", str(tree)], ["data", "scan", str(tree)], ["iam", "audit", str(tree)],
                        ["vulns", str(tree), "--db", str(db)])]
    categories = [i.rsplit("/", 1)[0] for i in ids]
    assert len(set(categories)) == 4, ids


def test_the_schema_check_rejects_what_code_scanning_would(tmp_path: Path) -> None:
    """The validator is real: a result without a message is not SARIF."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "cnsec"}}, "results": [{"ruleId": "X"}]}]}
    (tmp_path / "bad.sarif").write_text(json.dumps(bad))
    with pytest.raises(AssertionError, match="message"):
        validate(tmp_path / "bad.sarif")
