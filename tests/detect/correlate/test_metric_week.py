"""A week of metrics named as people name them, with a 20-minute denial of service: the bundled DoS
threat fires once, at the right time and on the right service, in every naming convention and format;
the same week without the attack raises nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.detect.correlate import metricgen as mg

_RUNS: dict[tuple[str, bool], Any] = {}


def _run(convention: str, dos: bool, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from cnsec.detect.correlate.run import run

    key = (convention, dos)
    if key not in _RUNS:
        d = tmp_path_factory.mktemp(f"{convention}-{'dos' if dos else 'quiet'}")
        path = mg.write(convention, d / f"metrics.{'prom' if convention in ('gauges', 'histogram') else 'json'}",
                        dos=dos)
        _RUNS[key] = run([str(path)])
    return _RUNS[key]


@pytest.mark.parametrize("convention", mg.CONVENTIONS)
def test_a_twenty_minute_dos_in_a_week_of_conventional_metrics_raises_one_alert_on_that_service(
        convention: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    result = _run(convention, True, tmp_path_factory)
    assert result.failed == {} and result.stats["malformed"] == 0
    assert [(a.rule_id, a.key) for a in result.alerts] == [("dos-service-degraded", f"service={mg.DOS_SERVICE}")]
    alert = result.alerts[0]
    # judged when a 5-minute window closes: the first window that holds the attack, up to its end
    assert mg.DOS_START < alert.first_seen <= mg.DOS_START + 300
    assert mg.DOS_END - 300 < alert.last_seen <= mg.DOS_END + 300
    signs = {e["sign"] for e in alert.evidence}
    assert signs == {"http-latency-high", "http-availability-low"}
    avail = [e["value"] for e in alert.evidence if e["sign"] == "http-availability-low"]
    assert all(80 < v < 90 for v in avail)  # 15% of the requests failed: non-5xx / total, in percent


@pytest.mark.parametrize("convention", mg.CONVENTIONS)
def test_the_same_week_without_the_attack_raises_nothing(convention: str,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    result = _run(convention, False, tmp_path_factory)
    assert result.alerts == []
    idle = {d["sign"] for d in result.idle_signs}
    assert "http-latency-high" not in idle and "http-availability-low" not in idle  # they read the metrics


def test_the_generated_week_is_what_it_claims(tmp_path: Path) -> None:
    """The model behind the files: diurnal traffic, a quiet error rate, the attack where it is said."""
    week = mg.traffic(5, True)
    checkout = dict(week["checkout"])
    quiet = checkout[mg.T0 + 4 * 3600]
    busy = checkout[mg.T0 + 16 * 3600]
    assert busy.requests > 3 * quiet.requests
    attack = checkout[mg.DOS_START + 600]
    assert attack.median > 5 * busy.median and attack.errors / attack.requests > 0.1
    assert sum(m.errors for _, m in week["search"]) / sum(m.requests for _, m in week["search"]) < 0.005
    assert len(checkout) == 7 * 24 * 60


def test_the_metrics_example_raises_the_dos_alert_its_readme_describes(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cnsec.cli import main

    example = Path(__file__).resolve().parents[3] / "examples" / "metrics" / "scrapes.prom"
    assert main(["correlate", str(example), "-f", "jsonl"]) == 1
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(a["rule_id"], a["key"], a["first_seen"], a["last_seen"]) for a in alerts] == [
        ("dos-service-degraded", "service=checkout", "2026-01-05T14:15:00Z", "2026-01-05T14:30:00Z")]
