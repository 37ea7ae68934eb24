"""Sigma correlation rules and the bundled catalog's detection-rule signs, on Kubernetes audit logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.detect.correlate.run import run
from cnsec.errors import UsageError
from tests.detect.correlate.k8s import audit, privileged_pod

T = 1_767_225_600.0

BASE = """title: Secret read denied
id: 5b0d4a6e-0000-4000-8000-000000000001
name: secret_denied
status: test
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: get
    objectRef.resource: secrets
    responseStatus.code: 403
  condition: selection
level: low
---
title: Secret read
id: 5b0d4a6e-0000-4000-8000-000000000002
name: secret_read
status: test
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: get
    objectRef.resource: secrets
    responseStatus.code: 200
  condition: selection
level: low
"""


def _corr(body: str) -> str:
    return BASE + "---\ntitle: Correlated\nid: 5b0d4a6e-0000-4000-8000-0000000000ff\nstatus: test\n" + body


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _log(tmp_path: Path, lines: list[str]) -> str:
    return _write(tmp_path, "audit.jsonl", "".join(x + "\n" for x in lines))


EVENT_COUNT = _corr("""correlation:
  type: event_count
  rules: [secret_denied]
  group-by: [user.username]
  timespan: 10m
  condition: {gte: 5}
level: high
tags: [attack.t1552]
""")


def test_event_count_fires_per_group_when_the_count_is_reached(tmp_path: Path) -> None:
    lines = [audit(T + i * 10, "mallory", "get", "secrets", 403, name=f"s{i}") for i in range(6)]
    lines += [audit(T + i * 10 + 1, "alice", "get", "secrets", 403, name=f"s{i}") for i in range(3)]
    result = run([_log(tmp_path, lines)], [_write(tmp_path, "c.yml", EVENT_COUNT)])
    assert [(a.rule_id, a.key, a.severity.label, a.threat_id) for a in result.alerts] == [
        ("5b0d4a6e-0000-4000-8000-0000000000ff", "user.username=mallory", "high", "secret-access")]
    assert abs(result.alerts[0].first_seen - T) < 1


def test_event_count_respects_the_timespan(tmp_path: Path) -> None:
    lines = [audit(T + i * 200, "mallory", "get", "secrets", 403, name=f"s{i}") for i in range(6)]
    assert run([_log(tmp_path, lines)], [_write(tmp_path, "c.yml", EVENT_COUNT)]).alerts == []


def test_value_count_counts_distinct_values(tmp_path: Path) -> None:
    rule = _corr("""correlation:
  type: value_count
  rules: [secret_denied]
  group-by: [user.username]
  timespan: 10m
  condition: {gte: 3, field: objectRef.name}
level: medium
""")
    same = [audit(T + i, "mallory", "get", "secrets", 403, name="one") for i in range(5)]
    many = [audit(T + 100 + i, "eve", "get", "secrets", 403, name=f"n{i}") for i in range(3)]
    alerts = run([_log(tmp_path, same + many)], [_write(tmp_path, "c.yml", rule)]).alerts
    assert [a.key for a in alerts] == ["user.username=eve"]


@pytest.mark.parametrize(("kind", "lines"), [
    pytest.param("temporal_ordered",
                 [audit(T, "mallory", "get", "secrets", 403), audit(T + 60, "mallory", "get", "secrets", 200),
                  audit(T, "alice", "get", "secrets", 200), audit(T + 60, "alice", "get", "secrets", 403)],
                 id="temporal_ordered-needs-the-order"),
    pytest.param("temporal",
                 [audit(T, "mallory", "get", "secrets", 200), audit(T + 60, "mallory", "get", "secrets", 403),
                  audit(T, "alice", "get", "secrets", 200), audit(T + 900, "alice", "get", "secrets", 403)],
                 id="temporal-needs-all-rules-within-the-timespan"),
])
def test_temporal_correlation_fires_only_for_the_key_that_meets_it(tmp_path: Path, kind: str,
                                                                    lines: list[str]) -> None:
    rule = _corr(f"""correlation:
  type: {kind}
  rules: [secret_denied, secret_read]
  group-by: [user.username]
  timespan: 5m
level: high
""")
    alerts = run([_log(tmp_path, lines)], [_write(tmp_path, "c.yml", rule)]).alerts
    assert [a.key for a in alerts] == ["user.username=mallory"]


def test_unsupported_correlation_condition_is_a_clear_error(tmp_path: Path) -> None:
    rule = _corr("""correlation:
  type: event_count
  rules: [secret_denied]
  group-by: [user.username]
  timespan: 5m
  condition: {lt: 3}
""")
    with pytest.raises(UsageError, match="not supported"):
        run([_log(tmp_path, [audit(T, "a", "get", "secrets", 403)])], [_write(tmp_path, "c.yml", rule)])


def test_bundled_catalog_sees_privileged_pod_then_exec_as_container_escape(tmp_path: Path) -> None:
    lines = [privileged_pod(T, "mallory"), audit(T + 120, "mallory", "create", "pods", 200, name="debug",
                                                 subresource="exec")]
    alerts = run([_log(tmp_path, lines)]).alerts
    escape = [a for a in alerts if a.threat_id == "container-escape"]
    assert [(a.rule_id, a.key, a.action) for a in escape] == [
        ("host-access-pod-then-exec", "user=mallory", "quarantine_pod")]


def test_bundled_catalog_sees_secret_read_after_denials(tmp_path: Path) -> None:
    lines = [audit(T + i, "mallory", "get", "secrets", 403, name=f"s{i}") for i in range(5)]
    lines.append(audit(T + 60, "mallory", "get", "secrets", 200, name="db-password"))
    alerts = run([_log(tmp_path, lines)]).alerts
    assert {(a.rule_id, a.key, a.action) for a in alerts} == {
        ("secret-enumeration", "user=mallory", "deny_access"),
        ("secret-read-after-denials", "user=mallory", "deny_access")}
