"""Suppressions need a reason; suppressed findings are reported as such, never dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.assess.config import Config, find_config
from cnsec.assess.engine import assess
from tests.assess.conftest import write

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
{annotations}spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""


def _k8s001(report):  # type: ignore[no-untyped-def]
    return [f for f in report.findings if f.check_id == "CNSEC-K8S-001"]


def test_annotation_with_reason_suppresses_and_keeps_the_finding(tmp_path: Path) -> None:
    ann = '  annotations:\n    cnsec.io/ignore: "CNSEC-K8S-001=node debugging pod, removed after use"\n'
    path = write(tmp_path / "pod.yaml", POD.format(annotations=ann))
    report = assess([str(path)], Config(), only={"CNSEC-K8S-001"})
    (f,) = _k8s001(report)
    assert f.suppressed
    assert f.suppression_reason is not None and "node debugging pod" in f.suppression_reason
    assert report.worst_active() is None


def test_annotation_without_reason_is_not_applied_and_says_why(tmp_path: Path) -> None:
    ann = '  annotations:\n    cnsec.io/ignore: "CNSEC-K8S-001"\n'
    path = write(tmp_path / "pod.yaml", POD.format(annotations=ann))
    report = assess([str(path)], Config(), only={"CNSEC-K8S-001"})
    (f,) = _k8s001(report)
    assert not f.suppressed
    assert any("no reason" in e.message for e in report.errors)


def test_comment_inside_the_resource_suppresses(tmp_path: Path) -> None:
    text = POD.format(annotations="").replace(
        "privileged: true", "privileged: true  # cnsec:ignore=CNSEC-K8S-001 required by the CNI agent")
    path = write(tmp_path / "pod.yaml", text)
    (f,) = _k8s001(assess([str(path)], Config(), only={"CNSEC-K8S-001"}))
    assert f.suppressed and "CNI agent" in (f.suppression_reason or "")


def test_comment_in_another_document_does_not_suppress(tmp_path: Path) -> None:
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c  # cnsec:ignore=CNSEC-K8S-001 not here\n"
    path = write(tmp_path / "pod.yaml", other + "---\n" + POD.format(annotations=""))
    (f,) = _k8s001(assess([str(path)], Config(), only={"CNSEC-K8S-001"}))
    assert not f.suppressed


def test_config_file_suppression_with_expiry(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / ".cnsec.yaml", "ignore:\n  - check: CNSEC-K8S-001\n    asset: Pod/ops/*\n"
                                    "    reason: accepted until the node agent ships\n    expires: 2999-01-01\n")
    config = find_config([str(tmp_path)], None)
    (f,) = _k8s001(assess([str(tmp_path)], config, only={"CNSEC-K8S-001"}))
    assert f.suppressed and "2999-01-01" in (f.suppression_reason or "")


def test_expired_config_suppression_reports_the_finding_again(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / ".cnsec.yaml", "ignore:\n  - check: CNSEC-K8S-001\n    reason: temporary\n"
                                    "    expires: 2020-01-01\n")
    config = find_config([str(tmp_path)], None)
    report = assess([str(tmp_path)], config, only={"CNSEC-K8S-001"})
    (f,) = _k8s001(report)
    assert not f.suppressed
    assert any("expired" in e.message and e.line == 2 for e in report.errors)


def test_a_config_suppression_without_a_reason_is_reported_not_applied_and_the_run_goes_on(
        tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / ".cnsec.yaml", "ignore:\n  - check: CNSEC-K8S-001\n")
    report = assess([str(tmp_path)], find_config([str(tmp_path)], None), only={"CNSEC-K8S-001"})
    (f,) = _k8s001(report)
    assert not f.suppressed
    [problem] = [e for e in report.errors if "no reason" in e.message]
    assert problem.file.endswith(".cnsec.yaml") and problem.line == 2


def test_the_project_config_is_found_from_a_sub_folder_up_to_the_repository_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    write(tmp_path / "repo" / ".cnsec.yaml", "ignore:\n  - check: CNSEC-K8S-001\n    reason: accepted\n")
    write(tmp_path / "repo" / "shop" / "k8s" / "pod.yaml", POD.format(annotations=""))
    sub = tmp_path / "repo" / "shop" / "k8s"
    (f,) = _k8s001(assess([str(sub)], find_config([str(sub)], None), only={"CNSEC-K8S-001"}))
    assert f.suppressed
    monkeypatch.chdir(sub)
    report = assess(["."], find_config(["."], None), only={"CNSEC-K8S-001"})
    assert report.config is not None and Path(report.config).resolve() == (tmp_path / "repo" / ".cnsec.yaml")
    assert _k8s001(report)[0].suppressed


def test_a_config_above_the_repository_root_is_not_read(tmp_path: Path) -> None:
    write(tmp_path / ".cnsec.yaml", "ignore:\n  - check: CNSEC-K8S-001\n    reason: someone else's\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    write(tmp_path / "repo" / "pod.yaml", POD.format(annotations=""))
    assert find_config([str(tmp_path / "repo")], None).path is None


def test_the_config_used_is_recorded_in_the_json_report(tmp_path: Path) -> None:
    import json

    from cnsec.report.json_report import render

    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / ".cnsec.yaml", "checks:\n  skip: [CNSEC-K8S-032]\n")
    report = assess([str(tmp_path)], find_config([str(tmp_path)], None), only={"CNSEC-K8S-001"})
    assert json.loads(render(report))["config"].endswith(".cnsec.yaml")


def test_config_sections_of_other_commands_are_left_to_them(tmp_path: Path) -> None:
    write(tmp_path / ".cnsec.yaml", "scan:\n  allowlist:\n    - path: x.yaml\n      reason: fixture\n"
                                    "checks:\n  skip: [CNSEC-K8S-032]\n")
    config = find_config([str(tmp_path)], None)
    assert config.skip_checks == {"CNSEC-K8S-032"}


TF_BUCKET_DB = """\
resource "aws_db_instance" "orders" {
  # checkov:skip=CKV_AWS_17:reachable only through the VPN endpoint, reviewed 2026-11
  publicly_accessible = true
}
"""


def test_a_checkov_skip_comment_suppresses_the_cnsec_check_that_is_its_equivalent(tmp_path: Path) -> None:
    write(tmp_path / "main.tf", TF_BUCKET_DB)
    report = assess([str(tmp_path)], Config(), only={"CNSEC-TF-007"})
    (f,) = [f for f in report.findings if f.check_id == "CNSEC-TF-007"]
    assert f.suppressed
    assert "VPN endpoint" in (f.suppression_reason or "") and "checkov:skip=CKV_AWS_17" in (f.suppression_reason or "")


def test_a_checkov_skip_without_a_reason_is_reported_and_not_applied(tmp_path: Path) -> None:
    write(tmp_path / "main.tf", TF_BUCKET_DB.replace(":reachable only through the VPN endpoint, reviewed 2026-11", ""))
    report = assess([str(tmp_path)], Config(), only={"CNSEC-TF-007"})
    (f,) = [f for f in report.findings if f.check_id == "CNSEC-TF-007"]
    assert not f.suppressed
    assert any("checkov:skip=CKV_AWS_17 has no reason" in e.message and e.line == 2 for e in report.errors)


def test_a_checkov_skip_of_another_check_suppresses_nothing(tmp_path: Path) -> None:
    write(tmp_path / "main.tf", TF_BUCKET_DB.replace("CKV_AWS_17", "CKV_AWS_16"))
    report = assess([str(tmp_path)], Config(), only={"CNSEC-TF-007"})
    assert [f.suppressed for f in report.findings if f.check_id == "CNSEC-TF-007"] == [False]


def test_a_checkov_skip_annotation_suppresses_through_the_equivalent(tmp_path: Path) -> None:
    ann = '  annotations:\n    checkov.io/skip1: "CKV_K8S_16=node agent needs the host, reviewed by SRE"\n'
    path = write(tmp_path / "pod.yaml", POD.format(annotations=ann))
    report = assess([str(path)], Config(), only={"CNSEC-K8S-001"})
    (f,) = _k8s001(report)
    assert f.suppressed and "node agent" in (f.suppression_reason or "")


def test_exclude_globs_leave_out_files_and_folders_and_the_report_says_how_many(tmp_path: Path) -> None:
    from cnsec.report.notices import notes

    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / "tests" / "fixtures" / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / "charts" / "x" / "bad.yaml", POD.format(annotations=""))
    config = Config(exclude=("tests", "charts/x"))
    report = assess([str(tmp_path)], config, only={"CNSEC-K8S-001"})
    assert [f.source.file for f in _k8s001(report)] == [str(tmp_path / "pod.yaml")]
    assert report.stats["excluded"] == 2
    assert "2 input files left out by exclude globs" in notes(report)


def test_exclude_and_skip_path_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cnsec.cli import main

    write(tmp_path / "pod.yaml", POD.format(annotations=""))
    write(tmp_path / "examples" / "pod.yaml", POD.format(annotations=""))
    main(["assess", str(tmp_path), "--skip-path", "examples", "-f", "json", "--fail-on", "none"])
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["excluded"] == 1
    assert {f["source"]["file"] for f in data["findings"]} == {str(tmp_path / "pod.yaml")}
    main(["assess", str(tmp_path), "--exclude", "*.yaml", "-f", "table", "--fail-on", "none"])
    assert "2 input files left out by exclude globs" in capsys.readouterr().out
