"""JUnit XML (``-f junit``) for CI test views: Checkov's shape (a case per check × resource), well-formed
whatever the input names hold, with every finding, suppression, unreadable and skipped input in it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnsec.cli import main
from tests.report.test_sarif_schema import SHOP, tree  # noqa: F401  (the fixture with every pillar's findings)
from tests.vulns.helpers import build_index

SEVERITIES = {"critical", "high", "medium", "low", "info"}
#: What the JUnit XML readers of Jenkins, GitLab and Azure Pipelines take (the attributes they read).
CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}
CASE_ATTRS = {"name", "classname", "time", "file", "line"}


def junit_of(tmp_path: Path, *argv: str) -> ET.Element:
    out = tmp_path / f"{argv[0]}-{len(list(tmp_path.iterdir()))}.xml"
    main([*argv, "-o", str(out), "--fail-on", "none"])  # the .xml extension picks JUnit
    root = ET.fromstring(out.read_bytes())  # noqa: S314 - cnsec's own output; well-formed, or this raises
    check_shape(root)
    return root


def check_shape(root: ET.Element) -> None:
    """The structure JUnit consumers rely on: counts that add up, one outcome per case, named cases."""
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites and all(s.get("name") for s in suites)
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        for attr, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            assert int(suite.get(attr, "-1")) == sum(1 for c in cases if c.find(tag) is not None)
        for case in cases:
            assert set(case.attrib) <= CASE_ATTRS and case.get("name") and case.get("classname")
            assert {child.tag for child in case} <= CASE_CHILDREN
            assert len([c for c in case if c.tag in ("failure", "error", "skipped")]) <= 1
            failure = case.find("failure")
            if failure is not None:
                assert failure.get("type") in SEVERITIES and failure.get("message")
                assert case.get("file") and f"Severity: {failure.get('type')}" in (failure.text or "")
    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr, "-1")) == sum(int(s.get(attr, "0")) for s in suites)


def cases(root: ET.Element, outcome: str) -> list[ET.Element]:
    return [c for c in root.iter("testcase") if c.find(outcome) is not None]


def test_an_assessment_is_one_case_per_check_and_resource_with_severity_and_location(
        tmp_path: Path, tree: Path) -> None:  # noqa: F811
    root = junit_of(tmp_path, "assess", str(SHOP), str(tree))
    failed = cases(root, "failure")
    priv = next(c for c in failed
                if "[critical][CNSEC-K8S-001]" in c.get("name", "") and "pod.yaml" in c.get("file", ""))
    assert priv.get("line") and priv.get("classname", "").startswith(priv.get("file", ""))
    assert "File: " + priv.get("file", "") + ":" + priv.get("line", "") in (priv.find("failure").text or "")  # type: ignore[union-attr]
    skipped = cases(root, "skipped")
    assert any("lab only" in (c.find("skipped").get("message") or "") for c in skipped)  # type: ignore[union-attr]
    errors = cases(root, "error")
    assert any("broken.yaml" in (c.get("file") or "") for c in errors)  # the unreadable manifest is not lost


def test_the_secret_scan_rbac_audit_and_vulnerability_scan_write_junit(tmp_path: Path, tree: Path) -> None:  # noqa: F811
    db = build_index(tmp_path / "index")
    for argv in (["data", "scan", str(tree)], ["iam", "audit", str(tree)], ["vulns", str(tree), "--db", str(db)]):
        root = junit_of(tmp_path, *argv)
        assert cases(root, "failure"), argv
        assert root.get("name") == "cnsec " + " ".join(argv[:2] if argv[0] in ("data", "iam") else argv[:1])


def test_a_secret_never_reaches_the_junit_report(tmp_path: Path, tree: Path) -> None:  # noqa: F811
    out = tmp_path / "secrets.xml"
    main(["data", "scan", str(tree), "-f", "junit", "-o", str(out), "--fail-on", "none"])
    assert "QYLPMN5HHHFPZAM2" not in out.read_text()


def test_an_assessment_of_nothing_says_so_as_an_error_case(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    root = junit_of(tmp_path, "assess", str(tmp_path / "empty"))
    assert [c.get("name") for c in cases(root, "error")] == ["nothing assessed"]


@pytest.mark.parametrize("name", ["pod\x1b]0;owned\x07.yaml", "pod\x00\x0b.yaml", "pod-\udcff.yaml"])
def test_control_characters_and_undecodable_names_still_give_well_formed_xml(tmp_path: Path, name: str) -> None:
    from cnsec.model.finding import Finding
    from cnsec.model.report import Report
    from cnsec.model.severity import Severity
    from cnsec.model.source import Source
    from cnsec.report.junit import render

    finding = Finding(id="CNSEC-K8S-001:0", check_id="CNSEC-K8S-001", title="Privileged container",
                      severity=Severity.CRITICAL, asset_id=f"Pod/default/{name}",
                      message=f"container {name!r} runs privileged",
                      source=Source(name, 3))
    root = ET.fromstring(render(Report(kind="assessment", findings=[finding], target=name)).encode())  # noqa: S314
    check_shape(root)
    assert "\x1b" not in ET.tostring(root, encoding="unicode")
