from __future__ import annotations

import json

from cnsec.respond.audit import AuditTrail, verify
from cnsec.respond.kube import RecordingKubeApi
from tests.respond.conftest import PlaybookFactory, Runner, loaded, make_alert

LIMITED = """
rate_limit: {max_actions: 2, window: 10m}
rules:
  - name: block
    match: {threats: [denial-of-service]}
    do:
      - block_traffic: {via: [networkpolicy]}
"""


def _ips(n: int, start: int = 1) -> list[object]:
    return [make_alert(f"203.0.113.{i}") for i in range(start, start + n)]


def test_the_rate_limit_skips_actions_beyond_the_budget(playbook: PlaybookFactory, respond: Runner,
                                                        kube: RecordingKubeApi) -> None:
    result = respond(playbook(LIMITED), loaded(*_ips(3)), apply=True)
    assert [d.outcome for d in result.decisions] == ["applied", "applied", "skipped"]
    assert "rate limit" in result.decisions[2].reason
    assert result.rate_used == 2


def test_the_rate_limit_counts_across_runs_through_the_audit_trail(
        playbook: PlaybookFactory, respond: Runner) -> None:
    respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    later = respond(playbook(LIMITED), loaded(*_ips(1, start=50)), apply=True)
    assert later.decisions[0].outcome == "skipped"


def test_the_rate_window_slides(playbook: PlaybookFactory, respond: Runner) -> None:
    import time

    respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    later = respond(playbook(LIMITED), loaded(*_ips(1, start=50)), apply=True,
                    clock=lambda: time.time() + 601)
    assert later.decisions[0].outcome == "applied"


def test_already_applied_changes_cost_no_budget(playbook: PlaybookFactory, respond: Runner) -> None:
    respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    again = respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    assert [d.outcome for d in again.decisions] == ["unchanged", "unchanged"]


def test_dry_runs_spend_no_budget(playbook: PlaybookFactory, respond: Runner) -> None:
    respond(playbook(LIMITED), loaded(*_ips(2)))
    result = respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    assert [d.outcome for d in result.decisions] == ["applied", "applied"]


def test_a_dry_run_shows_the_rate_limit_it_would_hit(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(LIMITED), loaded(*_ips(3)))
    assert [d.outcome for d in result.decisions] == ["planned", "planned", "skipped"]


def test_notifications_are_not_rate_limited(playbook: PlaybookFactory, respond: Runner) -> None:
    pb = playbook(LIMITED.replace("max_actions: 2", "max_actions: 0") + "      - notify: {url: 'http://127.0.0.1:9/x'}\n")
    result = respond(pb, loaded(make_alert()))
    assert [(d.action, d.outcome) for d in result.decisions] == [("block_traffic", "skipped"),
                                                                 ("notify", "planned")]


def test_every_decision_is_in_the_audit_trail(playbook: PlaybookFactory, respond: Runner,
                                              audit: AuditTrail) -> None:
    result = respond(playbook(LIMITED), loaded(*_ips(3), make_alert("10.96.0.1")), apply=True)
    records = list(audit.records())
    assert [r["outcome"] for r in records] == [d.outcome for d in result.decisions]
    assert [r["outcome"] for r in records] == ["applied", "applied", "skipped", "skipped"]
    assert records[0]["alert"]["source"] == "alerts.jsonl:1" and records[0]["mode"] == "apply"
    assert verify(audit.path).ok and result.audit_head == records[-1]["hash"]


def test_dry_run_decisions_are_audited_as_planned(playbook: PlaybookFactory, respond: Runner,
                                                  audit: AuditTrail) -> None:
    respond(playbook(LIMITED), loaded(make_alert()))
    [record] = audit.records()
    assert (record["mode"], record["outcome"]) == ("dry-run", "planned")


def test_the_audit_trail_holds_no_evidence(playbook: PlaybookFactory, respond: Runner,
                                           audit: AuditTrail) -> None:
    respond(playbook(LIMITED), loaded(make_alert(evidence=[{"token": "ghp_supersecretvalue"}])))
    [record] = audit.records()  # the decision was recorded: an empty trail would pass vacuously
    assert record["alert"]["key"] == "203.0.113.7"
    assert "ghp_supersecretvalue" not in audit.path.read_text()


def test_an_alert_matching_no_rule_does_nothing(playbook: PlaybookFactory, respond: Runner,
                                                audit: AuditTrail) -> None:
    result = respond(playbook(LIMITED), loaded(make_alert(threat_id="sql-injection")))
    assert (result.matched, result.decisions) == (0, [])


def test_a_change_asked_for_by_two_rules_is_decided_once(playbook: PlaybookFactory, respond: Runner) -> None:
    twice = LIMITED + """
  - name: block-again
    match: {actions: [block_traffic]}
    do:
      - block_traffic: {via: [networkpolicy], max_sources: 5}
"""
    result = respond(playbook(twice), loaded(make_alert()), apply=True)
    assert len(result.decisions) == 1


def test_decisions_render_as_json(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(LIMITED), loaded(make_alert()))
    [entry] = json.loads(json.dumps([d.to_dict() for d in result.decisions]))
    assert entry["target"] == "networkpolicy default/cnsec-blocklist"
    assert entry["alert"]["source"] == "alerts.jsonl:1"


def test_a_broken_trail_stops_the_run_before_any_action(playbook: PlaybookFactory, respond: Runner,
                                                        audit: AuditTrail, kube: RecordingKubeApi) -> None:
    import pytest

    from cnsec.errors import InputError

    respond(playbook(LIMITED), loaded(*_ips(2)), apply=True)
    lines = audit.path.read_text().splitlines()
    audit.path.write_text(lines[1] + "\n")  # the first record removed: budget "refunded"
    writes = len(kube.writes())
    with pytest.raises(InputError, match=r"audit.jsonl:1: the audit trail is broken"):
        respond(playbook(LIMITED), loaded(*_ips(2, start=50)), apply=True)
    assert len(kube.writes()) == writes
