"""Scenario tests from generated telemetry (tests/detect/correlate/telemetry.py), as issue 7 asks."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from cnsec.cli import main
from cnsec.detect.correlate.run import run, run_follow
from tests.detect.correlate import telemetry as tm


def _by_threat(alerts: list, threat: str) -> list:
    return [a for a in alerts if a.threat_id == threat]


def test_dos_raises_exactly_one_dos_alert_with_block_traffic_for_the_service(dos_result: Any) -> None:
    dos = _by_threat(dos_result.alerts, "denial-of-service")
    assert [(a.rule_id, a.key, a.action) for a in dos] == [("dos-service-degraded", "service=web", "block_traffic")]
    assert tm.T0 + 11 * 3600 <= dos[0].first_seen <= tm.T0 + 11 * 3600 + 900


def test_dos_alert_names_the_flooding_sources_and_no_normal_client(dos_result: Any) -> None:
    alert = _by_threat(dos_result.alerts, "denial-of-service")[0]
    sources = {t["src_ip"] for ev in alert.evidence for t in ev.get("top", [])}
    assert sources == set(tm.BOTS)


def test_dos_alert_becomes_a_networkpolicy_denying_the_sources(dos_files: list[Path], tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    assert main(["correlate", *map(str, dos_files), "-f", "jsonl", "-o", str(alerts), "--fail-on", "none"]) == 0
    playbook = tmp_path / "playbook.yaml"
    step = {"block_traffic": {"namespace": "shop", "via": ["networkpolicy"]}}
    playbook.write_text(yaml.safe_dump({"version": 1, "rules": [
        {"name": "block", "match": {"threats": ["denial-of-service"]}, "do": [step]}]}))
    out = tmp_path / "plan"
    main(["respond", str(alerts), "--playbook", str(playbook), "--out-dir", str(out),
          "--audit-log", str(tmp_path / "audit.jsonl")])
    policies = [d for f in sorted(out.rglob("*.y*ml")) for d in yaml.safe_load_all(f.read_text())
                if isinstance(d, dict) and d.get("kind") == "NetworkPolicy"]
    assert policies, f"no NetworkPolicy written in {sorted(out.rglob('*'))}"
    denied = {c for p in policies for rule in p["spec"]["ingress"] for peer in rule["from"]
              for c in peer.get("ipBlock", {}).get("except", [])}
    assert denied == {f"{ip}/32" for ip in tm.BOTS}


def test_sql_injection_then_large_responses_raises_sql_injection_for_that_client(sqli_files: list[Path]) -> None:
    alerts = run([str(p) for p in sqli_files]).alerts
    chained = [a for a in alerts if a.rule_id == "sqli-then-data-returned"]
    assert [(a.threat_id, a.key, a.action) for a in chained] == [
        ("sql-injection", "ip=198.51.100.23", "block_traffic")]


def test_sql_injection_alerts_concern_only_the_attacker(sqli_files: list[Path]) -> None:
    alerts = run([str(p) for p in sqli_files]).alerts
    assert alerts
    assert {a.key for a in alerts} == {"ip=198.51.100.23"}


def test_password_spraying_raises_credential_abuse_with_deny_access_for_the_broken_account(
        spray_files: list[Path]) -> None:
    alerts = run([str(p) for p in spray_files]).alerts
    deny = [a for a in alerts if a.action == "deny_access"]
    assert [(a.rule_id, a.threat_id, a.key) for a in deny] == [
        ("password-spraying-success", "credential-abuse", "user=carol")]


def test_benign_week_with_daily_seasonality_raises_nothing(benign_week: list[Path]) -> None:
    result = run([str(p) for p in benign_week])
    assert result.stats["records"] > 100_000
    assert result.stats["baselines"] > 100  # the signs did learn what is usual
    assert [(a.rule_id, a.key) for a in result.alerts] == []


def _summary(alerts: list) -> list[tuple]:
    return [(a.rule_id, a.key, a.first_seen, a.last_seen, a.count) for a in alerts]


def test_results_are_the_same_when_input_is_split_across_many_files(dos_files: list[Path], dos_result: Any,
                                                                     tmp_path: Path) -> None:
    whole = _summary(dos_result.alerts)
    assert whole
    parts: list[str] = []
    for src in dos_files:
        lines = src.read_text().splitlines(keepends=True)
        for i in range(5):  # round-robin: every part spans the whole time range
            part = tmp_path / f"{src.stem}.{i}.log"
            part.write_text("".join(lines[i::5]))
            parts.append(str(part))
    random.Random(1).shuffle(parts)
    assert _summary(run(parts).alerts) == whole


def test_results_are_the_same_when_lines_arrive_slightly_out_of_order(sqli_files: list[Path],
                                                                      tmp_path: Path) -> None:
    whole = _summary(run([str(p) for p in sqli_files]).alerts)
    assert whole
    lines = sqli_files[0].read_text().splitlines(keepends=True)
    for i in range(0, len(lines) - 1, 2):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    shuffled = tmp_path / "access.log"
    shuffled.write_text("".join(lines))
    assert _summary(run([str(shuffled)]).alerts) == whole


def test_results_are_the_same_line_by_line_through_follow(spray_files: list[Path]) -> None:
    batch = _summary(run([str(p) for p in spray_files]).alerts)
    live: list = []
    followed = run_follow(str(spray_files[0]), idle_exit=0.3, on_alert=live.append)
    assert _summary(followed.alerts) == batch
    assert {a.rule_id for a in live} == {a[0] for a in batch}


def test_correlate_cli_writes_alerts_that_respond_can_read(spray_files: list[Path], tmp_path: Path,
                                                            capsys: object) -> None:
    out = tmp_path / "alerts.jsonl"
    code = main(["correlate", str(spray_files[0]), "-f", "jsonl", "-o", str(out)])
    assert code == 1  # a high alert
    from cnsec.respond.alerts import alert_from_dict

    parsed = [alert_from_dict(json.loads(line)) for line in out.read_text().splitlines()]
    assert {(a.rule_id, a.action) for a in parsed} >= {("password-spraying-success", "deny_access")}


def test_a_user_reading_far_more_rows_than_usual_raises_data_breach_with_deny_access(tmp_path: Path) -> None:
    rng = random.Random(21)
    start = tm.T0
    lines = tm.app_queries(rng, start, start + 12 * 3600)
    t = start + 12 * 3600 + 600
    lines += [(t + i * 20, json.dumps({"timestamp": tm.rfc3339(t + i * 20), "user": "analyst3", "db": "orders",
                                       "rows_returned": 50_000})) for i in range(10)]
    alerts = run([str(tm.write(tmp_path / "queries.jsonl", lines))]).alerts
    assert [(a.rule_id, a.threat_id, a.key, a.action) for a in alerts] == [
        ("unexpected-data-access", "data-breach", "user=analyst3", "deny_access")]
