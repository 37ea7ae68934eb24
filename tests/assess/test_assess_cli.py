"""``cnsec assess``: exit codes, errors, outputs — what a user sees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.assess.conftest import write

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""

Run = Callable[..., tuple[int, str, str]]


def test_exit_code_is_1_when_a_finding_reaches_fail_on(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, _ = run_cli("assess", str(tmp_path), "-f", "json", "--checks", "CNSEC-K8S-001")
    assert code == 1


def test_exit_code_is_0_when_findings_are_below_fail_on(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", "FROM python:3.12-slim\nCMD [\"python\"]\n")
    code, _, _ = run_cli("assess", str(tmp_path), "-f", "json", "--checks", "CNSEC-DKR-001",
                         "--fail-on", "high")
    assert code == 0


def test_missing_path_is_a_usage_error_with_exit_2(tmp_path: Path, run_cli: Run) -> None:
    code, _, err = run_cli("assess", str(tmp_path / "nope"), "-f", "json")
    assert code == 2
    assert "nope" in err and "no such file" in err
    assert "Traceback" not in err


def test_malformed_yaml_is_reported_with_file_and_line_and_the_rest_is_assessed(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "a-good.yaml", PRIVILEGED_POD)
    write(tmp_path / "b-bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [oops\n")
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    assert code == 0
    data = json.loads(out)
    assert data["errors"][0]["file"].endswith("b-bad.yaml")
    assert data["errors"][0]["line"] >= 5
    assert "b-bad.yaml:" in err
    assert any(f["check_id"] == "CNSEC-K8S-001" for f in data["findings"])


def test_input_where_nothing_can_be_read_exits_2(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "bad.yaml", "a: [\n")
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2
    assert "bad.yaml:" in err


def test_yaml_bomb_is_refused_with_a_clear_error(tmp_path: Path, run_cli: Run) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    _, out, _ = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    data = json.loads(out)
    assert any("YAML bomb" in e["message"] for e in data["errors"])
    assert data["summary"]["resources"] == 1


def test_cluster_dump_on_stdin_with_kind_list(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import yaml

    pod = yaml.safe_load(PRIVILEGED_POD)
    dump = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [pod]})
    monkeypatch.setattr("sys.stdin", io.StringIO(dump))
    _, out, _ = run_cli("assess", "-", "-f", "json", "--fail-on", "none")
    data = json.loads(out)
    assert [a["id"] for a in data["assets"]] == ["Pod/ops/debug"]
    assert data["findings"][0]["source"]["file"] == "<stdin>"


def test_output_file_is_written_whole(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "in" / "pod.yaml", PRIVILEGED_POD)
    out_file = tmp_path / "report.json"
    code, out, _ = run_cli("assess", str(tmp_path / "in"), "-o", str(out_file), "--fail-on", "none")
    assert code == 0 and out == ""
    assert json.loads(out_file.read_text())["schema"] == "cnsec.assessment/v1"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unwritable_output_is_a_clear_error_and_leaves_no_file(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    target = tmp_path / "missing-dir" / "report.json"
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-o", str(target), "-f", "json")
    assert code == 2
    assert "cannot write report" in err
    assert not target.exists()


def test_json_contract_has_the_documented_top_level_keys(tmp_path: Path,
                                                         assess_json: Callable[..., dict[str, Any]]) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    data = assess_json(tmp_path)
    assert data["schema"] == "cnsec.assessment/v1"
    for key in ("assets", "threats", "findings", "risks", "plan", "summary", "errors"):
        assert key in data
    f = next(f for f in data["findings"] if f["check_id"] == "CNSEC-K8S-001")
    for key in ("id", "check_id", "title", "severity", "asset_id", "source", "threat_ids", "remediation",
                "equivalents", "suppressed"):
        assert key in f
    assert f["source"] == {"file": str(tmp_path / "pod.yaml"), "line": 11}
    assert f["equivalents"]["checkov"] == ["CKV_K8S_16"]
    risk = data["risks"][0]
    assert {"asset_id", "threat_id", "finding_ids", "score", "level"} <= set(risk)
    item = data["plan"][0]
    assert {"rank", "control_id", "action", "finding_ids", "risk_reduction"} <= set(item)


def test_sarif_output_is_what_github_code_scanning_expects(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    _, out, _ = run_cli("assess", str(tmp_path), "-f", "sarif", "--fail-on", "none")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "CNSEC-K8S-001")
    assert rule["help"]["text"] and float(rule["properties"]["security-severity"]) >= 9.0
    result = next(r for r in run["results"] if r["ruleId"] == "CNSEC-K8S-001")
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    assert result["partialFingerprints"]["cnsecFindingId/v1"].startswith("CNSEC-K8S-001:")


def test_markdown_report_has_every_section(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    out_file = tmp_path / "SECURITY-ASSESSMENT.md"
    run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "markdown", "-o", str(out_file), "--fail-on", "none")
    text = out_file.read_text()
    for section in ("## Summary", "## Assets", "## Threats", "## Findings", "## Risk register",
                    "## Mitigation plan"):
        assert section in text
    assert "privileged: true" in text  # the offending snippet
    assert '"op": "replace"' in text or "op: replace" in text  # the fix


def test_checks_list_json_names_ids_threats_and_equivalents(run_cli: Run) -> None:
    code, out, _ = run_cli("checks", "list", "-f", "json")
    assert code == 0
    checks = {c["id"]: c for c in json.loads(out)}
    assert checks["CNSEC-K8S-001"]["equivalents"]["kubescape"] == ["C-0057"]
    assert checks["CNSEC-K8S-001"]["threat_ids"] == ["container-escape"]


def test_help_lists_the_assess_command(run_cli: Run) -> None:
    code, out, _ = run_cli("--help")
    assert code == 0 and "assess" in out
