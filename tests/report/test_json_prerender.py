"""Findings rendered ahead of time in a forked process give the very bytes of a plain render."""

from __future__ import annotations

import json

import pytest

from cnsec.model.finding import Finding
from cnsec.model.report import Report
from cnsec.model.severity import Severity
from cnsec.model.source import Source
from cnsec.report import json_report


def _report(n: int = 40) -> Report:
    findings = [
        Finding(id=f"CNSEC-K8S-001:{i:016x}", check_id="CNSEC-K8S-001", title="Privileged container",
                severity=Severity(i % 5), asset_id=f"Pod/ns/p{i}", source=Source(f"f{i % 7}.yaml", i + 1),
                message=f"container 'c{i}' is privileged \"quoted\"\nnewline ü", threat_ids=("t1", "t2"),
                equivalents={"checkov": ("CKV_K8S_16",), "kubescape": ()}, control_id="CTRL-X",
                location=f"spec.containers[{i}]", patch=[{"op": "add", "path": "/a/b", "value": {"x": [1, 2]}}],
                fix=None if i % 2 else "line one\nline two", suppressed=i % 3 == 0,
                suppression_reason="accepted" if i % 3 == 0 else None)
        for i in range(n)
    ]
    return Report(kind="assessment", findings=findings, target="x")


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "PRERENDER_MIN", 1)


def test_prerendered_findings_give_the_bytes_of_a_plain_render() -> None:
    report = _report()
    plain = json_report.render_bytes(report)
    json_report.prerender_findings(report.findings)
    assert json_report._AHEAD is not None  # a child is rendering
    assert json_report.render_bytes(report) == plain
    assert json_report._AHEAD is None


def test_a_baseline_that_drops_findings_still_splices_the_rest() -> None:
    report = _report()
    json_report.prerender_findings(report.findings)
    report.findings = report.findings[1::3]
    spliced = json_report.render_bytes(report)
    assert spliced == json_report.render_bytes(report)  # the second render is a plain one
    assert [f["id"] for f in json.loads(spliced)["findings"]] == [f.id for f in report.findings]


def test_findings_of_another_report_are_rendered_plainly() -> None:
    first, second = _report(), _report(12)
    json_report.prerender_findings(first.findings)
    assert json.loads(json_report.render_bytes(second))["findings"] == [f.to_dict() for f in second.findings]
    assert json_report._AHEAD is None


def test_a_child_that_fails_leaves_the_plain_render(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report()
    plain = json_report.render_bytes(report)

    def broken(fd: int, findings: list[Finding]) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(json_report, "_write_items", broken)
    json_report.prerender_findings(report.findings)
    assert json_report.render_bytes(report) == plain


def test_a_report_without_findings_renders_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "PRERENDER_MIN", 0)  # a child renders the empty list too
    report = _report(0)
    json_report.prerender_findings(report.findings)
    assert json_report._AHEAD is not None
    assert json.loads(json_report.render_bytes(report))["findings"] == []
    assert json_report._AHEAD is None


def test_a_hostile_string_that_looks_like_the_placeholder_is_left_alone() -> None:
    report = _report()
    report.target = "cnsec-prerendered-00000000000000000000000000000000"
    plain = json_report.render_bytes(report)
    json_report.prerender_findings(report.findings)
    assert json_report.render_bytes(report) == plain


def test_without_a_temporary_folder_the_report_renders_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    report = _report()
    plain = json_report.render_bytes(report)

    def no_space(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    json_report.prerender_findings(report.findings)
    assert json_report._AHEAD is None
    assert json_report.render_bytes(report) == plain
