from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cnsec.cli import main
from cnsec.model.severity import Severity
from cnsec.respond.kube import RecordingKubeApi
from tests.respond.conftest import make_alert, validate_k8s

PLAYBOOK = """
rules:
  - name: block
    match: {threats: [denial-of-service], severity: high}
    do:
      - block_traffic: {namespace: shop, pod_selector: {app: web}, via: [networkpolicy]}
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    alerts = tmp_path / "alerts.jsonl"
    dos = make_alert("svc=shop/web", evidence=[{"src_ip": f"198.51.100.{i}"} for i in range(1, 6)])
    low = make_alert("192.0.2.1", severity=Severity.LOW)
    alerts.write_text("\n".join(json.dumps(a.to_dict()) for a in (dos, low)) + "\n")
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(PLAYBOOK)
    return {"alerts": alerts, "playbook": playbook, "audit": tmp_path / "audit.jsonl", "out": tmp_path / "out"}


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return ["respond", str(files["alerts"]), "--playbook", str(files["playbook"]),
            "--audit-log", str(files["audit"]), *extra]


def test_a_dry_run_prints_and_writes_the_exact_manifest(files: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(files, "--out-dir", str(files["out"]))) == 0
    printed = capsys.readouterr().out
    written = (files["out"] / "networkpolicy-shop-cnsec-blocklist.yaml").read_text()
    assert written in printed and "dry run" in printed
    manifest = yaml.safe_load(written)
    validate_k8s(manifest)
    assert manifest["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"] == [
        f"198.51.100.{i}/32" for i in range(1, 6)]
    assert sorted(p.name for p in files["out"].iterdir()) == ["networkpolicy-shop-cnsec-blocklist.yaml",
                                                              "plan.json"]


def test_apply_uses_the_kubernetes_api_and_a_second_apply_changes_nothing(
        files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    kube = RecordingKubeApi(validate=validate_k8s)
    monkeypatch.setattr("cnsec.respond.kube.KubernetesApi", lambda *a: kube)
    assert main(_args(files, "--apply")) == 0
    policy = kube.objects[("NetworkPolicy", "shop", "cnsec-blocklist")]
    assert len(policy["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"]) == 5
    writes = len(kube.writes())
    capsys.readouterr()
    assert main(_args(files, "--apply", "-f", "json")) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"unchanged": 5}
    assert len(kube.writes()) == writes


def test_json_output_lists_decisions_and_counts(files: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(files, "-f", "json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "dry-run" and report["counts"] == {"planned": 5}
    from cnsec.respond.audit import verify

    assert report["audit"]["head"] == verify(files["audit"]).head  # the trail's real head, not any value


def test_a_failed_action_exits_1(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: Any) -> Any:
        from cnsec.respond.kube import KubeError

        raise KubeError("cannot load a Kubernetes configuration: no kubeconfig")

    monkeypatch.setattr("cnsec.respond.kube.KubernetesApi", unreachable)
    assert main(_args(files, "--apply")) == 1


def test_a_bad_alert_line_exits_2_with_file_and_line(files: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with files["alerts"].open("a") as handle:
        handle.write('{"rule_id": "x"}\n')
    assert main(_args(files)) == 2
    err = capsys.readouterr().err
    assert f"{files['alerts']}:3: bad alert: missing required field 'key'" in err
    assert not files["audit"].exists()  # nothing was decided


def test_a_bad_playbook_exits_2_with_file_and_line(files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    files["playbook"].write_text(PLAYBOOK.replace("via: [networkpolicy]", "via: [carrier-pigeon]"))
    assert main(_args(files)) == 2
    assert f"{files['playbook']}:6: block_traffic: parameter via: carrier-pigeon" in capsys.readouterr().err


def test_verify_reports_an_intact_trail(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(_args(files))
    capsys.readouterr()
    assert main(["respond", "verify", "--audit-log", str(files["audit"])]) == 0
    assert "audit trail OK" in capsys.readouterr().out


def test_verify_reports_the_first_tampered_record_and_exits_1(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(_args(files))
    lines = files["audit"].read_text().splitlines()
    lines[2] = lines[2].replace("198.51.100.3", "198.51.100.99")
    files["audit"].write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["respond", "verify", "--audit-log", str(files["audit"])]) == 1
    assert f"TAMPERED: {files['audit']}:3:" in capsys.readouterr().out


def test_verify_without_a_trail_exits_2(tmp_path: Path) -> None:
    assert main(["respond", "verify", "--audit-log", str(tmp_path / "none.jsonl")]) == 2


def test_the_audit_log_location_comes_from_the_environment(
        files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNSEC_AUDIT_LOG", str(tmp_path / "env-audit.jsonl"))
    assert main(["respond", str(files["alerts"]), "--playbook", str(files["playbook"])]) == 0
    assert (tmp_path / "env-audit.jsonl").exists()


def test_actions_lists_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["respond", "actions", "-f", "json"]) == 0
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [
        "block_traffic", "deny_access", "notify", "quarantine_pod"]


def test_respond_without_arguments_is_a_usage_error() -> None:
    assert main(["respond"]) == 2


def test_terminal_escapes_in_an_alert_key_are_shown_as_visible_escapes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(json.dumps(make_alert("user=\x1b]0;pwned\x07eve\u202e").to_dict()) + "\n")
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text("rules:\n  - name: tell\n    do: [{notify: {url: 'http://127.0.0.1:9/hook'}}]\n")
    assert main(["respond", str(alerts), "--playbook", str(playbook),
                 "--audit-log", str(tmp_path / "audit.jsonl")]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed
    assert "user=\\x1b]0;pwned\\x07eve\\u202e" in printed


def test_a_newline_in_a_user_name_cannot_forge_a_line_in_the_deny_access_artifacts(
        tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["alerts"].write_text(json.dumps(make_alert("user=alice\ndisable-user bob", action="deny_access").to_dict())
                               + "\n")
    files["playbook"].write_text("rules:\n  - name: deny\n    match: {}\n    do: [deny_access: {}]\n")
    main(_args(files))
    lines = capsys.readouterr().out.splitlines()
    assert "disable-user alice\\ndisable-user bob" in lines
    assert not any(line.startswith(("disable-user bob", "FORGED")) for line in lines)


def test_playbook_show_prints_the_bundled_playbook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["respond", "playbook", "show"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["version"] == 1 and doc["rules"]


def test_playbook_init_writes_a_playbook_that_respond_then_uses(
        files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "new")
    assert main(["respond", "playbook", "init"]) == 0
    assert yaml.safe_load((tmp_path / "new" / "playbook.yaml").read_text())["rules"]
    assert main(["respond", "playbook", "show", "--playbook", "playbook.yaml"]) == 0
    capsys.readouterr()
    assert main(["respond", str(files["alerts"]), "--playbook", "playbook.yaml",
                 "--audit-log", str(tmp_path / "trail.jsonl")]) == 0


def test_playbook_init_does_not_overwrite_without_force(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nrules: []\n")
    assert main(["respond", "playbook", "init", str(mine)]) == 2
    assert "exists" in capsys.readouterr().err and mine.read_text() == "version: 1\nrules: []\n"
    assert main(["respond", "playbook", "init", str(mine), "--force"]) == 0
    assert "rules:" in mine.read_text() and mine.read_text() != "version: 1\nrules: []\n"


def test_playbook_show_of_a_broken_playbook_exits_2_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - name: x\n    do: [nope]\n")
    assert main(["respond", "playbook", "show", "--playbook", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
