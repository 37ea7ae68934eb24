"""Mistakes users make with detect and rules: each ends with a message that says what to do, never a
traceback; and the alert table speaks as every other cnsec table does."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.detect.render import render_table
from cnsec.model.event import Alert
from cnsec.model.severity import Severity

FALCO = Path(__file__).parent / "data" / "falco" / "k8s_audit_rules_excerpt.yaml"


def test_a_falco_rule_file_given_to_rules_check_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(FALCO)]) == 1
    out = capsys.readouterr().out
    assert f"{FALCO}: Falco rule files are not Sigma: 1 rule, 1 macro here" in out
    assert "--source falco" in out
    assert "AttributeError" not in out


def test_a_falco_rule_file_given_to_detect_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--rules", str(FALCO), str(FALCO)]) == 2
    err = capsys.readouterr().err
    assert "Falco rule files are not Sigma" in err and "Traceback" not in err


def alert(rule: str, severity: Severity) -> Alert:
    return Alert(rule_id=rule, title=f"{rule} seen", severity=severity, threat_id=None, key="user=a",
                 first_seen=1.7e9, last_seen=1.7e9)


def test_the_alert_table_names_severities_in_lower_case_and_sums_them_up_worst_first() -> None:
    alerts = [alert("R-1", Severity.INFO), alert("R-2", Severity.LOW), alert("R-3", Severity.CRITICAL),
              alert("R-4", Severity.MEDIUM), alert("R-5", Severity.HIGH), alert("R-6", Severity.LOW)]
    text = render_table(alerts, {"events": 6, "rules": 6}, width=140)
    rows = text.splitlines()[1:7]
    assert [r.split()[0] for r in rows] == ["info", "low", "critical", "medium", "high", "low"]
    assert "6 alerts (critical: 1, high: 1, medium: 1, low: 2, info: 1)" in text


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
def test_every_alert_row_fits_the_width_it_is_given(columns: int) -> None:
    long = Alert(rule_id="CNSEC-DET-K8S-001", title="Privileged pod created " * 5, severity=Severity.HIGH,
                 threat_id=None, key="user=" + "x" * 200, first_seen=1.7e9, last_seen=1.7e9, count=12345)
    text = render_table([long], {"events": 1, "rules": 1}, width=columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    assert "…" in text.splitlines()[1]
