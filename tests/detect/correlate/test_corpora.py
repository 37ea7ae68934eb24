"""The bundled catalog on real recorded attacks (skipped when ../shared/corpora is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.detect.correlate.run import run

CORPORA = Path(__file__).resolve().parents[3] / "../shared/corpora/detect/logs"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus not available: {path}")
    return path


def test_otrf_cloudtrail_breach_raises_critical_data_breach_with_deny_access() -> None:
    trace = _need(CORPORA / "otrf-security-datasets" / "ec2_proxy_s3_exfiltration_2020-09-14011940.json")
    alerts = run([str(trace)], lateness=3600).alerts
    breach = [a for a in alerts if a.rule_id == "instance-credentials-exfiltration"]
    assert len(breach) == 1
    assert (breach[0].threat_id, breach[0].severity.label, breach[0].action) == (
        "data-breach", "critical", "deny_access")
    assert breach[0].key.startswith("user=arn:aws:sts::")


def test_falco_audit_traces_raise_privilege_escalation_for_the_cluster_admin_grant() -> None:
    traces = _need(CORPORA / "falco-k8s-audit-traces")
    alerts = run(sorted(str(p) for p in traces.glob("*.json"))).alerts
    assert ("cluster-admin-granted", "privilege-escalation") in {(a.rule_id, a.threat_id) for a in alerts}
