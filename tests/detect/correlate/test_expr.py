from __future__ import annotations

import pytest

from cnsec.detect.correlate.expr import duration, parse_filter, parse_metric
from cnsec.errors import UsageError


def test_quantile_against_baseline_over_a_window() -> None:
    e = parse_metric("p95(latency_ms) > 2 × baseline over 5m")
    assert (e.func, e.quantile, e.field, e.op, e.threshold, e.relative, e.window) == (
        "quantile", 0.95, "latency_ms", ">", 2.0, True, 300.0)


def test_availability_shorthand_is_an_average_percentage() -> None:
    e = parse_metric("availability < 99% over 5m")
    assert (e.func, e.field, e.op, e.threshold, e.relative) == ("avg", "availability", "<", 99.0, False)


def test_rate_with_filter_group_and_unit() -> None:
    e = parse_metric("rate(status=401) by src_ip > 20/min")
    assert (e.func, e.by, e.threshold, e.per, e.window) == ("rate", "src_ip", 20.0, 60.0, 60.0)
    assert e.where is not None and e.where.pred({"status": 401}) and not e.where.pred({"status": 200})


def test_bare_field_is_a_sum_compared_with_usual() -> None:
    e = parse_metric("rows_returned by user > 10 × usual")
    assert (e.func, e.field, e.by, e.relative, e.window) == ("sum", "rows_returned", "user", True, 300.0)


def test_ascii_multiplication_signs_are_accepted() -> None:
    assert parse_metric("max(bytes) by src_ip > 10 * usual over 1h").relative
    assert parse_metric("max(bytes) by src_ip > 10 x baseline over 1h").window == 3600.0


def test_filter_combines_and_or_not_in_and_regex() -> None:
    f = parse_filter('status in (401, 403) and not (method = "GET" or path ~ "^/health")')
    assert f.pred({"status": 401, "method": "POST", "path": "/login"})
    assert not f.pred({"status": 401, "method": "GET", "path": "/login"})
    assert not f.pred({"status": 403, "method": "POST", "path": "/healthz"})
    assert not f.pred({"status": 200, "method": "POST", "path": "/login"})


def test_numbers_match_numeric_strings() -> None:
    assert parse_filter("status = 401").pred({"status": "401"})
    assert parse_filter("status >= 500").pred({"status": "503"})


def test_regex_keeps_backslash_classes() -> None:
    f = parse_filter(r'url ~ "(?i)union\s+select"')
    assert f.pred({"url": "/x?id=1 UNION   SELECT 1"})
    assert not f.pred({"url": "/unionselect"})


def test_missing_field_never_matches_a_comparison() -> None:
    assert not parse_filter("status != 200").pred({})
    assert not parse_filter("bytes > 5").pred({"bytes": "many"})


@pytest.mark.parametrize("text", [
    "p95(latency_ms) > 2 × baseline over",  # no duration
    "median(latency) > 3",  # unknown function
    "count() by user = 3",  # a metric condition needs an ordering comparison
    "count() > 2 × normal",  # baseline keyword
    "rate() > 20/fortnight",
    "count(status = ) > 1",
    "__import__('os') > 1",
    "count() > 1 over 5m extra",
])
def test_malformed_expressions_are_rejected_with_a_clear_error(text: str) -> None:
    with pytest.raises(UsageError, match="sign expression"):
        parse_metric(text)


def test_bad_regular_expression_is_rejected() -> None:
    with pytest.raises(UsageError, match="regular expression"):
        parse_filter('path ~ "(unclosed"')


def test_durations() -> None:
    assert [duration(x) for x in ("30s", "5m", "1h", "2d", "500ms", "90")] == [30, 300, 3600, 172800, 0.5, 90]
    with pytest.raises(UsageError):
        duration("five minutes")


def test_a_catalog_whose_aliases_explode_is_refused_with_its_file_name() -> None:
    from cnsec.detect.correlate.catalog import load_catalog_text

    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(UsageError, match="expands to more than") as err:
        load_catalog_text("\n".join(levels) + "\nsigns: *a7\nthreats: []\n", "mine.yaml")
    assert err.value.source is not None and err.value.source.file == "mine.yaml"


def test_a_threat_alert_with_hostile_evidence_is_written_cut_not_refused() -> None:
    import json

    from cnsec.detect.correlate.cli import _writable
    from cnsec.detect.fields import CUT
    from cnsec.model.event import Alert
    from cnsec.model.severity import Severity

    deep: object = 1
    for _ in range(3000):
        deep = {"a": deep}
    alert = Alert(rule_id="T", title="t", severity=Severity.HIGH, threat_id=None, key="k", first_seen=0.0,
                  last_seen=0.0, evidence=[{"event": deep}, {"event": {"ok": True}}])
    text = json.dumps(_writable(alert))
    assert json.loads(text)["evidence"][1] == {"event": {"ok": True}}
    assert CUT in text
