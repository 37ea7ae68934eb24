"""The issue's scenarios, from the response side: detect-shaped alerts through the bundled playbook."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cnsec.model.event import Alert
from cnsec.model.severity import Severity
from cnsec.respond.kube import RecordingKubeApi
from cnsec.respond.playbooks import bundled_playbook_path, load_playbook
from tests.respond.conftest import T0, Runner, loaded, validate_k8s


def _alert(rule_id: str, threat: str, key: str, evidence: list[dict], severity: Severity = Severity.HIGH,
           action: str | None = None) -> Alert:
    return Alert(rule_id=rule_id, title=rule_id, severity=severity, threat_id=threat, key=key, first_seen=T0,
                 last_seen=T0 + 300, evidence=evidence, count=len(evidence) or 1, action=action)


def _dos() -> Alert:
    sources = [f"198.51.100.{i}" for i in range(1, 31)]
    evidence = [{"source": "access-log", "event": {"src_ip": ip, "status": 503, "latency_ms": 2400}}
                for ip in sources for _ in range(3)]
    return _alert("CNSEC-THREAT-DOS", "denial-of-service", "service=shop/web", evidence, action="block_traffic")


def test_a_dos_from_many_sources_yields_one_policy_denying_them_all(respond: Runner) -> None:
    result = respond(load_playbook(bundled_playbook_path()), loaded(_dos()))
    [name] = [n for n in result.artifacts if n.startswith("networkpolicy-")]
    manifest = yaml.safe_load(result.artifacts[name])
    validate_k8s(manifest)
    assert manifest["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"] == sorted(
        (f"198.51.100.{i}/32" for i in range(1, 31)), key=lambda c: int(c.split(".")[3].split("/")[0]))
    assert result.artifacts["blocklist.txt"].count("\n") == 30
    assert result.artifacts["nftables.sh"].count("nft add element") == 30


def test_an_sql_injection_client_is_blocked(respond: Runner) -> None:
    evidence = [{"source": "access-log", "event": {"client_ip": "203.0.113.23",
                                                   "request": "GET /item?id=1' OR '1'='1 HTTP/1.1"}}]
    alert = _alert("CNSEC-THREAT-SQLI", "sql-injection", "ip=203.0.113.23", evidence)
    result = respond(load_playbook(bundled_playbook_path()), loaded(alert))
    blocked = {d.change.subject for d in result.decisions if d.outcome == "planned" and d.change}
    assert blocked == {"203.0.113.23/32"}


def test_password_spraying_blocks_the_sprayer_and_denies_no_victim(respond: Runner) -> None:
    evidence = [{"source": "json", "event": {"src_ip": "203.0.113.50", "user": f"user{i}", "outcome": "failure"}}
                for i in range(40)]
    alert = _alert("CNSEC-THREAT-SPRAY", "credential-abuse", "ip=203.0.113.50", evidence, action="deny_access")
    result = respond(load_playbook(bundled_playbook_path()), loaded(alert))
    planned = {(d.action, d.change.subject) for d in result.decisions if d.outcome == "planned" and d.change}
    assert planned == {("block_traffic", "203.0.113.50/32")}
    assert any(d.action == "deny_access" and d.outcome == "skipped" for d in result.decisions)


def test_a_brute_forced_user_is_denied(respond: Runner, kube: RecordingKubeApi) -> None:
    alert = _alert("CNSEC-THREAT-BRUTE", "credential-abuse", "user=alice",
                   [{"event": {"user": "alice", "outcome": "success"}}])
    result = respond(load_playbook(bundled_playbook_path()), loaded(alert))
    assert ("deny_access", "rbac RoleBindings in all namespaces and ClusterRoleBindings") in {
        (d.action, d.change.target) for d in result.decisions if d.outcome == "planned" and d.change}


def test_benign_and_informational_alerts_cause_no_action(respond: Runner) -> None:
    alerts = [_alert("CNSEC-DET-K8S-057", "", "user=ci", [], Severity.INFO),
              _alert("CNSEC-DET-K8S-063", "", "user=ci", [], Severity.LOW)]
    result = respond(load_playbook(bundled_playbook_path()), loaded(*alerts))
    assert result.decisions == []


def test_applying_the_bundled_playbook_twice_changes_nothing(respond: Runner, kube: RecordingKubeApi,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default blocklist file is relative
    pb = load_playbook(bundled_playbook_path())
    first = respond(pb, loaded(_dos()), apply=True)
    assert not first.failed, [d.reason for d in first.decisions if d.outcome == "failed"]
    writes = len(kube.writes())
    second = respond(load_playbook(bundled_playbook_path()), loaded(_dos()), apply=True)
    assert {d.outcome for d in second.decisions} <= {"unchanged", "skipped"}
    assert len(kube.writes()) == writes
    assert first.counts()["applied"] == 90  # 30 sources x (policy merge, nft element, file line)
