"""``cnsec threats list`` and ``cnsec correlate``: the catalog, errors, output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.detect.correlate.catalog import load_catalog
from cnsec.model.threat import threat_catalog

MISSION = {"denial-of-service", "sql-injection", "data-breach", "data-tampering", "credential-abuse",
           "privilege-escalation", "container-escape", "secret-access"}


def test_bundled_catalog_covers_the_mission_threats_with_model_ids() -> None:
    cat = load_catalog(None)
    ids = {t.id for t in cat.threats}
    assert ids >= MISSION
    assert ids <= set(threat_catalog())
    assert all(t.rules for t in cat.threats)
    assert all(r.action for r in cat.rules)


def test_bundled_catalog_names_only_loaded_detection_rules() -> None:
    from cnsec.detect.rules import bundled

    known = {r.id for r in bundled().rules}
    assert load_catalog(None).engine_rule_ids() <= known


def test_threats_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["threats", "list", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    dos = next(t for t in doc["threats"] if t["id"] == "denial-of-service")
    rule = next(r for r in dos["rules"] if r["id"] == "dos-service-degraded")
    assert rule["action"] == "block_traffic" and rule["by"] == "service"
    assert "p95(latency_ms) by service > 2 × baseline over 5m" in {s["condition"] for s in doc["signs"]}


def test_threats_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["threats", "list"]) == 0
    out = capsys.readouterr().out
    assert "sql-injection" in out and "sqli-then-data-returned: sequence of [sqli-probe-burst, large-response]" in out


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_unknown_threat_id_in_a_catalog_is_exit_2_with_one_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cat = _write(tmp_path, "t.yaml", "signs: [{id: a, match: 'x = 1'}]\nthreats:\n  - id: alien-invasion\n"
                                     "    rules: [{id: r, any: [a]}]\n")
    assert main(["correlate", _write(tmp_path, "in.log", ""), "--threats", cat]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "alien-invasion" in err[0] and "t.yaml" in err[0]


def test_rule_naming_an_unknown_sign_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = _write(tmp_path, "t.yaml", "signs: []\nthreats:\n  - id: sql-injection\n    rules: [{id: r, any: [nope]}]\n")
    assert main(["correlate", _write(tmp_path, "in.log", ""), "--threats", cat]) == 2
    assert "unknown sign(s) nope" in capsys.readouterr().err


def test_malformed_lines_are_reported_on_stderr_and_the_run_goes_on(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    line = json.dumps({"ts": 1767225600, "event": "login", "actor": "a", "subject": "a", "source": "192.0.2.1",
                       "outcome": "success", "detail": {}})
    log = _write(tmp_path, "iam.jsonl", f"{line}\n{{oops\n{line}\n")
    assert main(["correlate", log, "-f", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["stats"]["records"] == 2 and doc["stats"]["malformed"] == 1
    assert doc["errors"][0]["line"] == 2
    assert f"{log}:2: malformed JSON" in captured.err


def test_state_option_writes_the_baselines(tmp_path: Path) -> None:
    line = json.dumps({"timestamp": 1767225600, "name": "latency_ms", "labels": {"service": "web"}, "value": 5})
    state = tmp_path / "state.json"
    assert main(["correlate", _write(tmp_path, "m.jsonl", line + "\n"), "--state", str(state),
                 "-f", "jsonl"]) == 0
    assert "http-latency-high" in json.loads(state.read_text())["signs"]


def test_missing_input_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["correlate", str(tmp_path / "nope.log")]) == 2
    assert f"{tmp_path / 'nope.log'}: file not found" in capsys.readouterr().err


def test_follow_prints_alerts_as_they_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.detect.correlate import telemetry as tm

    entries = tm.spray_attack(tm.T0 + 3600)
    log = _write(tmp_path, "iam.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
    assert main(["correlate", "--follow", log, "--idle-exit", "0.3", "-f", "jsonl"]) == 1
    rules = [json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()]
    assert rules == ["password-spraying", "password-spraying-success"]


def test_follow_takes_exactly_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _write(tmp_path, "a.log", ""), _write(tmp_path, "b.log", "")
    assert main(["correlate", "--follow", a, b]) == 2
    assert "exactly one file" in capsys.readouterr().err


def test_rule_grouping_by_a_key_its_window_sign_lacks_is_rejected(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cat = _write(tmp_path, "t.yaml", "signs: [{id: a, expr: 'count() by src_ip > 5 over 1m'}]\nthreats:\n"
                                     "  - id: sql-injection\n    rules: [{id: r, any: [a], by: user}]\n")
    assert main(["correlate", _write(tmp_path, "in.log", ""), "--threats", cat]) == 2
    assert "groups by user but sign a is keyed by src_ip" in capsys.readouterr().err


def test_detect_with_threats_runs_the_correlation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.detect.correlate import telemetry as tm

    entries = tm.spray_attack(tm.T0 + 3600)
    log = _write(tmp_path, "iam.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
    assert main(["detect", log, "--threats", "-f", "jsonl"]) == 1
    rules = {json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()}
    assert "password-spraying-success" in rules


def test_table_shows_terminal_escapes_in_keys_instead_of_sending_them(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.detect.correlate import telemetry as tm

    entries = tm.spray_attack(tm.T0 + 3600, ip="\x1b]0;pwned\x07")
    log = _write(tmp_path, "iam.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
    main(["correlate", log, "-f", "table"])
    out = capsys.readouterr().out
    assert "password-spraying" in out
    assert "\x1b" not in out and "\\x1b]0;pwned\\x07" in out


def test_a_missing_input_among_others_is_reported_the_rest_correlated_and_the_exit_is_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.detect.correlate import telemetry as tm

    entries = tm.spray_attack(tm.T0 + 3600)
    log = _write(tmp_path, "iam.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
    gone = str(tmp_path / "rotated-away.log")
    assert main(["correlate", gone, log, "-f", "json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert {a["rule_id"] for a in doc["alerts"]} >= {"password-spraying-success"}
    assert doc["inputs_failed"] == [{"file": gone, "reason": "file not found"}]
    assert {"file": gone, "line": None, "message": "file not found"} in doc["errors"]
    assert f"{gone}: file not found" in captured.err


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_an_input_of_no_known_format_is_named_in_every_format_and_the_exit_is_2(
        fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = _write(tmp_path, "notes.txt", "hello\n")
    good = _write(tmp_path, "m.jsonl", json.dumps({"timestamp": 1767225600, "name": "latency_ms",
                                                   "labels": {"service": "web"}, "value": 5}) + "\n")
    out = tmp_path / "alerts.out"
    assert main(["correlate", notes, good, "-f", fmt, "-o", str(out)]) == 2
    assert out.exists()  # the alerts of what could be read are written
    err = capsys.readouterr().err
    assert f"{notes}:1: unrecognised input" in err
    if fmt == "table":
        assert f"input not read: {notes}: unrecognised input" in out.read_text()


def test_signs_that_found_no_input_are_named_in_every_format(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # a latency gauge without a unit: neither latency sign input nor silently ignored
    scrape = _write(tmp_path, "scrape.prom", 'checkout_latency{service="c"} 0.2 1767225600000\n'
                                             'http_availability_percent{service="c"} 99.9 1767225600000\n')
    assert main(["correlate", scrape, "-f", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    idle = {d["sign"]: d["reads"] for d in doc["signs_without_input"]}
    assert idle["http-latency-high"].startswith("latency_ms: ")
    assert "http-availability-low" not in idle
    assert "iam-login-spray" in idle and idle["iam-login-spray"].startswith("the user field of iam records")
    assert "checkout_latency" in doc["stats"]["metrics_not_read"]
    assert "note: no input for sign http-latency-high" in captured.err
    assert "metric checkout_latency not read: a latency gauge without a unit" in captured.err
    assert main(["correlate", scrape, "-f", "table"]) == 0
    table = capsys.readouterr().out
    assert "no input for http-latency-high: it reads latency_ms" in table
    assert "metric not read: checkout_latency" in table


def test_threats_list_shows_what_each_sign_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["threats", "list", "-f", "json"]) == 0
    signs = {s["id"]: s for s in json.loads(capsys.readouterr().out)["signs"]}
    assert signs["http-latency-high"]["input"] == "latency_ms"
    assert "http_request_duration_seconds" in signs["http-latency-high"]["reads"] or \
        "_duration_seconds_bucket" in signs["http-latency-high"]["reads"]
    assert "http_requests_total" in signs["http-availability-low"]["reads"]
    assert signs["iam-login-success"]["input_kinds"] == ["iam"]
    assert main(["threats", "list"]) == 0
    assert "reads latency_ms: latency in milliseconds" in capsys.readouterr().out


@pytest.mark.parametrize("lateness", ["-1", "nan", "90000"])
def test_a_lateness_outside_zero_to_a_day_is_exit_2_before_anything_is_read(
        lateness: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative lateness skipped every record as too late, and said so only in a count."""
    log = _write(tmp_path, "in.log", "")
    assert main(["correlate", log, "--lateness", lateness]) == 2
    assert main(["detect", log, "--threats", "--lateness", lateness]) == 2
    err = capsys.readouterr().err
    assert err.count("--lateness: between 0 and 86400 seconds") == 2


def test_every_lateness_default_is_the_detect_pillar_s_one() -> None:
    import inspect

    from cnsec.detect import DEFAULT_LATENESS, Detector
    from cnsec.detect.correlate.run import run
    from cnsec.serve.settings import Settings

    assert inspect.signature(run).parameters["lateness"].default == DEFAULT_LATENESS
    assert inspect.signature(Detector.load).parameters["lateness"].default == DEFAULT_LATENESS
    assert Settings().lateness == DEFAULT_LATENESS
