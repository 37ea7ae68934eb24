from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnsec.cli import main

EXEC = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "verb": "create",
        "user": {"username": "alice"}, "sourceIPs": ["10.0.0.7"],
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web"},
        "responseStatus": {"code": 101}, "stageTimestamp": "2026-01-05T10:00:00Z"}
ADMIN = dict(EXEC, objectRef={"resource": "clusterrolebindings", "name": "b"}, verb="create",
             requestObject={"roleRef": {"name": "cluster-admin"}}, responseStatus={"code": 201})


def _write(path: Path, events: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_detect_jsonl_prints_one_alert_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "audit.log", [EXEC, EXEC, ADMIN])
    code = main(["detect", str(f), "-f", "jsonl", "--fail-on", "none", "--min-severity", "low"])
    lines = capsys.readouterr().out.splitlines()
    alerts = [json.loads(x) for x in lines]
    assert code == 0
    assert sorted(a["rule_id"] for a in alerts) == ["CNSEC-DET-K8S-009", "CNSEC-DET-K8S-015"]
    exec_alert = next(a for a in alerts if a["rule_id"] == "CNSEC-DET-K8S-009")
    assert exec_alert["count"] == 2 and exec_alert["key"] == "user=alice"
    assert exec_alert["threat_id"] == "exec-in-container"


def test_detect_fails_on_high_alert_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "audit.log", [ADMIN])
    assert main(["detect", str(f), "-f", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["alerts"][0]["severity"] == "high" and doc["stats"]["events"] == 1


def test_detect_passes_when_alerts_are_below_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "audit.log", [EXEC])
    assert main(["detect", str(f), "-f", "table"]) == 0
    assert "CNSEC-DET-K8S-009" in capsys.readouterr().out


def test_detect_writes_markdown_to_a_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "audit.log", [EXEC])
    out = tmp_path / "report.md"
    main(["detect", str(f), "-f", "markdown", "-o", str(out)])
    assert "| medium | `CNSEC-DET-K8S-009`" in out.read_text()


def test_malformed_line_is_reported_on_stderr_and_not_fatal(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "audit.log"
    f.write_text(json.dumps(EXEC) + "\n{oops\n")
    assert main(["detect", str(f), "-f", "jsonl"]) == 0
    captured = capsys.readouterr()
    assert f"{f}:2: malformed JSON" in captured.err
    assert len(captured.out.splitlines()) == 1


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", str(tmp_path / "nope.log")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_user_sigma_rules_are_added(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text("title: Exec by alice\nid: 6a1f0a3e-0000-4000-8000-000000000001\nlevel: critical\n"
                                 "logsource: {product: kubernetes, service: audit}\n"
                                 "detection:\n  sel:\n    user.username: ALICE\n  condition: sel\n")
    f = _write(tmp_path / "audit.log", [EXEC])
    assert main(["detect", str(f), "--rules", str(rules), "--no-default-rules", "-f", "jsonl"]) == 1
    (alert,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert alert["title"] == "Exec by alice" and alert["severity"] == "critical"


def test_rules_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in doc["rules"]}
    assert "CNSEC-DET-K8S-001" in ids and "CNSEC-DET-AWS-007" in ids


def test_rules_test_runs_bundled_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test"]) == 0
    assert " 0 failed" in capsys.readouterr().out


def test_rules_test_reports_a_wrong_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.yml").write_text(
        "id: MY-1\ntitle: t\nseverity: low\nsource: cloudtrail\n"
        "match:\n  sel:\n    eventName: StopLogging\n  condition: sel\n"
        "examples:\n  match:\n    - {eventName: StartLogging, eventSource: x}\n")
    assert main(["rules", "test", str(tmp_path)]) == 1
    assert "FAIL MY-1 match[0]" in capsys.readouterr().out


def test_rules_check_json_reports_loaded_and_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yml").write_text("title: t\nlogsource: {product: aws, service: cloudtrail}\n"
                                     "detection:\n  sel:\n    eventName: x\n  condition: sel\n")
    (tmp_path / "bad.yml").write_text("title: t\nlogsource: {product: aws}\ndetection:\n  condition: nope\n")
    assert main(["rules", "check", str(tmp_path), "-f", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["loaded"] == 1
    assert doc["failed"][0]["path"].endswith("bad.yml") and doc["failed"][0]["reason"]


def test_follow_survives_rotation(tmp_path: Path) -> None:
    """Each step waits for the alert of the step before (no fixed sleeps: on a loaded machine the start
    alone took longer than the 1.5 s this test used to allow)."""
    import queue
    import threading

    log = tmp_path / "audit.log"
    log.write_text(json.dumps(EXEC) + "\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnsec", "detect", "--follow", str(log), "-f", "jsonl", "--idle-exit", "3",
         "--window", "0", "--fail-on", "none", "--min-severity", "low"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    alerts: list[dict[str, object]] = []
    try:
        alerts.append(json.loads(lines.get(timeout=60)))  # the first event is read: the follower runs
        with log.open("a") as fh:  # grows, and a partial line completed later
            fh.write(json.dumps(dict(EXEC, stageTimestamp="2026-01-05T10:01:00Z"))[:40])
            fh.flush()
            time.sleep(0.5)
            fh.write(json.dumps(dict(EXEC, stageTimestamp="2026-01-05T10:01:00Z"))[40:] + "\n")
        alerts.append(json.loads(lines.get(timeout=60)))  # the completed line was read
        log.rename(tmp_path / "audit.log.1")  # rotate: the path now names a new file
        _write(log, [ADMIN])
        proc.wait(timeout=60)
        reader.join(timeout=10)
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    while not lines.empty():
        alerts.append(json.loads(lines.get()))
    assert [a["rule_id"] for a in alerts] == ["CNSEC-DET-K8S-009", "CNSEC-DET-K8S-009", "CNSEC-DET-K8S-015"], err


def test_generic_json_runs_other_sigma_rules_with_field_mapping(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "az.yml").write_text("title: Azure key vault deleted\nlevel: high\n"
                                  "logsource: {product: azure, service: activitylogs}\n"
                                  "detection:\n  sel:\n    operationName: MICROSOFT.KEYVAULT/VAULTS/DELETE\n"
                                  "  condition: sel\n")
    f = _write(tmp_path / "az.jsonl", [{"op": {"name": "Microsoft.KeyVault/vaults/delete"}, "user": "eve"},
                                       {"op": {"name": "Microsoft.KeyVault/vaults/read"}, "user": "eve"}])
    code = main(["detect", str(f), "--rules", str(rules), "--no-default-rules", "--source", "json",
                 "--map", "operationName=op.name", "-f", "jsonl"])
    (alert,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1 and alert["key"] == "user=eve"


def test_detect_reads_stdin_with_a_given_source() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.run(
        [sys.executable, "-m", "cnsec", "detect", "-", "--source", "k8s-audit", "-f", "jsonl",
         "--min-severity", "low"],
        input=json.dumps(EXEC) + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["rule_id"] for x in proc.stdout.splitlines()] == ["CNSEC-DET-K8S-009"]


def test_terminal_escapes_in_logged_names_are_shown_not_sent(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path / "audit.log", [dict(EXEC, user={"username": "\x1b]0;pwned\x07eve"})])
    main(["detect", str(f), "-f", "table"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b]0;pwned\\x07eve" in out


def test_markdown_key_cannot_break_out_of_its_code_span(tmp_path: Path) -> None:
    f = _write(tmp_path / "audit.log", [dict(EXEC, user={"username": "a`|b\x1b"})])
    out = tmp_path / "report.md"
    main(["detect", str(f), "-f", "markdown", "-o", str(out)])
    assert "`user=a'\\|b\\x1b`" in out.read_text()


def test_rule_text_reaches_the_terminal_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rule files are input: a title or a file name carrying terminal escapes is printed escaped."""
    (tmp_path / "r.yml").write_text(
        'id: MY-1\ntitle: "owned \\e]0;pwned\\a"\nseverity: low\nsource: cloudtrail\n'
        "match:\n  sel:\n    eventName: StopLogging\n  condition: sel\n"
        "examples:\n  match:\n    - {eventName: StartLogging, eventSource: x}\n")
    (tmp_path / "bad\x1b[2J.yml").write_text("title: t\nlogsource: {product: aws}\ndetection:\n  condition: nope\n")
    main(["rules", "list", str(tmp_path)])
    main(["rules", "test", str(tmp_path)])
    main(["rules", "check", str(tmp_path)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "owned \\x1b]0;pwned\\x07" in out and "bad\\x1b[2J.yml" in out


def _nested(depth: int, leaf: str) -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _detect_json(tmp_path: Path, log: Path, level: str, detection: str, fail_on: str) -> int:
    """``cnsec detect`` over a generic JSON log with one Sigma rule of ``detection`` alone, as jsonl."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yml").write_text(f"title: r\nlogsource: {{product: cnsec, service: json}}\nlevel: {level}\n"
                                    f"detection: {detection}\n")
    return main(["detect", str(log), "--source", "json", "--rules", str(rules), "--no-default-rules",
                 "-f", "jsonl", "--fail-on", fail_on])


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_an_alert_on_a_hostile_deeply_nested_event_is_written_with_its_evidence_cut(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    line = json.dumps(dict(EXEC, requestObject={"metadata": "X"})).replace('"X"', _nested(600, "1"))
    f = tmp_path / "audit.log"
    f.write_text(line + "\n" + json.dumps(EXEC) + "\n")
    out = tmp_path / f"alerts.{fmt}"
    assert main(["detect", str(f), "-f", fmt, "-o", str(out), "--fail-on", "none"]) == 0
    text = out.read_text()
    alerts = [json.loads(x) for x in text.splitlines()] if fmt == "jsonl" else json.loads(text)["alerts"]
    (alert,) = [a for a in alerts if a["rule_id"] == "CNSEC-DET-K8S-009"]
    assert alert["count"] == 2
    first, second = (e["event"] for e in alert["evidence"])
    assert "(cut: nested deeper than" in json.dumps(first) and first["verb"] == "create"
    assert second == EXEC


def test_fields_under_a_thousand_nested_arrays_are_matched_and_keyed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.log"
    f.write_text('{"ts": 1, "user": ' + "[" * 1000 + '{"name": "admin"}' + "]" * 1000 + "}\n"
                 '{"ts": 2, "user": {"name": "admin"}}\n')
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yml").write_text(  # keyed on the field under the arrays: the alert book reads it too
        "id: X-1\ntitle: admin\nseverity: low\nsource: json\nkey: [user=user.name]\n"
        "match: {sel: {user.name: admin}, condition: sel}\n")
    assert main(["detect", str(f), "--source", "json", "--rules", str(rules), "--no-default-rules",
                 "-f", "jsonl", "--fail-on", "none"]) == 0
    (alert,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert alert["count"] == 2 and alert["key"] == "user=admin"


def test_an_event_a_python_rule_recurses_too_deep_into_is_reported_and_the_scan_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "naive.py").write_text(
        "from cnsec.detect.rules.pyrules import PythonRule\n\n"
        "def depth(v):\n"
        "    return 1 + max((depth(x) for x in v.values()), default=0) if isinstance(v, dict) else 0\n\n"
        "RULE = PythonRule(id='X-2', title='deep', severity='low', source='json',\n"
        "                  match=lambda e: depth(e) > 2)\n")
    f = tmp_path / "app.log"
    f.write_text('{"ts": 1, "msg": ' + _nested(1000, "1") + '}\n{"ts": 2, "msg": {"a": {"b": 1}}}\n')
    code = main(["detect", str(f), "--source", "json", "--rules", str(rules), "--no-default-rules",
                 "-f", "jsonl", "--fail-on", "none"])
    captured = capsys.readouterr()
    assert code == 0
    (alert,) = [json.loads(x) for x in captured.out.splitlines()]
    assert alert["evidence"][0]["origin"].endswith("app.log:2")
    assert f"{f}:1: event nested too deeply to match" in captured.err


def test_a_keyword_rule_reads_every_value_of_an_event_nested_a_thousand_levels_deep(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.log"
    f.write_text('{"ts": 1, "msg": ' + _nested(1000, '"run mimikatz"') + "}\n")
    assert _detect_json(tmp_path, f, "high", "{keywords: [mimikatz], condition: keywords}", "high") == 1
    assert json.loads(capsys.readouterr().out)["count"] == 1


def test_a_missing_input_is_reported_and_the_other_inputs_still_alert_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "audit.log", [ADMIN])
    missing = tmp_path / "gone.log"
    code = main(["detect", str(missing), str(good), "-f", "json", "--fail-on", "none"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 2
    assert "CNSEC-DET-K8S-015" in [a["rule_id"] for a in doc["alerts"]]
    assert doc["errors"] == [{"file": str(missing), "line": None, "message": "file not found"}]
    assert doc["stats"]["inputs"][str(missing)] == "unreadable" and doc["stats"]["unreadable"] == 1
    assert f"{missing}: file not found" in err


def test_a_missing_input_in_jsonl_mode_still_writes_the_alerts_of_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "audit.log", [ADMIN])
    code = main(["detect", str(good), str(tmp_path / "gone.log"), "-f", "jsonl", "--fail-on", "none"])
    out, err = capsys.readouterr()
    assert code == 2 and "CNSEC-DET-K8S-015" in [json.loads(x)["rule_id"] for x in out.splitlines()]
    assert "gone.log: file not found" in err


def test_a_link_out_of_a_scanned_folder_is_not_followed_and_is_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = _write(tmp_path / "secret.log", [ADMIN])
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "audit.log", [EXEC])
    (logs / "leak.log").symlink_to(outside)
    main(["detect", str(logs), "-f", "json", "--fail-on", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert [a["rule_id"] for a in doc["alerts"]] == ["CNSEC-DET-K8S-009"]
    assert list(doc["stats"]["inputs"]) == [str(logs / "audit.log")]
    assert doc["errors"] == [{"file": str(logs / "leak.log"), "line": None,
                              "message": f"not read: a link to {outside}, outside {logs}"}]


def test_a_link_inside_a_scanned_folder_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    (logs / "2026").mkdir(parents=True)
    real = _write(logs / "2026" / "audit.log", [EXEC])
    (logs / "latest.log").symlink_to(real)
    main(["detect", str(logs), "-f", "json", "--fail-on", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["alerts"][0]["count"] == 2 and doc["errors"] == []


def test_underscore_and_hidden_files_of_a_folder_are_reported_as_not_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "_labels.json", [EXEC])
    _write(tmp_path / ".audit.log", [EXEC])
    main(["detect", str(tmp_path), "-f", "json", "--fail-on", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["alerts"] == []
    assert sorted(e["file"] for e in doc["errors"]) == [str(tmp_path / ".audit.log"), str(tmp_path / "_labels.json")]
    assert all(e["message"].startswith("not read: the name starts with") for e in doc["errors"])


def test_a_newline_in_a_file_name_cannot_forge_a_line_on_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x\ncnsec: all inputs clean"
    bad.write_text("not json\n")
    main(["detect", str(bad), "-f", "jsonl"])
    err = capsys.readouterr().err
    assert "\ncnsec: all inputs clean" not in err and "x\\ncnsec: all inputs clean:1: malformed JSON" in err


def test_detect_exits_2_when_every_rule_under_rules_failed_to_load(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text("title: x\nlogsource: {product: aws}\ndetection: {condition: nope}\n")
    log = _write(tmp_path / "audit.log", [ADMIN])
    assert main(["detect", str(log), "--rules", str(rules), "-f", "jsonl"]) == 2
    assert "no rule loaded from --rules" in capsys.readouterr().err


def test_a_newline_in_an_alert_key_cannot_forge_a_row_of_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = "alice\nCRITICAL 2026-01-05 10:00:00  CNSEC-DET-K8S-015"
    f = _write(tmp_path / "audit.log", [dict(EXEC, user={"username": forged})])
    main(["detect", str(f), "-f", "table", "--fail-on", "none"])
    rows = capsys.readouterr().out.splitlines()
    assert not any(row.startswith("CRITICAL") for row in rows)
    assert any("user=alice\\nCRITICAL" in row for row in rows)
