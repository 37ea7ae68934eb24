"""The bundled catalog's engine-rule threats, driven by the detection rules' own example events (with
times and identities set), so the signs are exactly what the engine matches."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from cnsec.detect.correlate.run import run
from cnsec.detect.rules import bundled
from tests.detect.correlate.telemetry import T0, rfc3339


def _example(rule_id: str) -> dict[str, Any]:
    rule = next(r for r in bundled().rules if r.id == rule_id)
    return copy.deepcopy(next(e.event for e in rule.examples if e.should_match))


def _cloudtrail(rule_id: str, ts: float, arn: str) -> str:
    ev = _example(rule_id)
    ev["eventTime"] = rfc3339(ts).replace(".000", "")
    ev.setdefault("userIdentity", {})["arn"] = arn
    ev["sourceIPAddress"] = "198.51.100.9"
    return json.dumps(ev)


def _k8s(rule_id: str, ts: float, user: str) -> str:
    ev = _example(rule_id)
    ev["requestReceivedTimestamp"] = ev["stageTimestamp"] = rfc3339(ts)
    ev["user"] = {"username": user, "groups": ["system:authenticated"]}
    return json.dumps(ev)


def _write(tmp_path: Path, lines: list[str]) -> str:
    p = tmp_path / "audit.jsonl"
    p.write_text("".join(x + "\n" for x in lines))
    return str(p)


def test_data_deleted_and_logging_stopped_by_one_principal_is_data_tampering(tmp_path: Path) -> None:
    arn = "arn:aws:iam::111122223333:user/mallory"
    lines = [_cloudtrail("CNSEC-DET-AWS-002", T0 + 60, arn), _cloudtrail("CNSEC-DET-AWS-013", T0 + 600, arn),
             _cloudtrail("CNSEC-DET-AWS-013", T0 + 700, "arn:aws:iam::111122223333:user/ops")]
    alerts = [a for a in run([_write(tmp_path, lines)]).alerts if a.threat_id == "data-tampering"]
    assert [(a.rule_id, a.key, a.action) for a in alerts] == [
        ("destructive-cloud-changes", f"user={arn}", "deny_access")]


def test_powerful_role_then_binding_by_one_user_is_privilege_escalation(tmp_path: Path) -> None:
    lines = [_k8s("CNSEC-DET-K8S-016", T0 + 10, "mallory"), _k8s("CNSEC-DET-K8S-063", T0 + 300, "mallory"),
             _k8s("CNSEC-DET-K8S-063", T0 + 5, "bob")]  # bob's binding came before any role: no sequence
    alerts = [a for a in run([_write(tmp_path, lines)]).alerts if a.rule_id == "rbac-role-then-binding"]
    assert [(a.threat_id, a.key, a.action) for a in alerts] == [
        ("privilege-escalation", "user=mallory", "deny_access")]
