"""Metric formats and naming conventions → sign inputs: units from names, ratio or percent, counters by
status, summaries, Prometheus API responses, OTLP/JSON, and the ``detect.metrics`` mapping of
``.cnsec.yaml``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cnsec.detect.correlate.inputs import Stats, open_file_records
from cnsec.detect.correlate.metrics import (
    Buckets,
    ConfiguredMapping,
    Mapping,
    Ratio,
    convention,
    load_mappings,
    parse_mappings,
)
from cnsec.errors import ConfigError

T = 1_767_225_600


def _records(path: Path, mappings: list[ConfiguredMapping] | None = None) -> tuple[list[dict[str, Any]], Stats]:
    stats = Stats()
    return [item[3] for item in open_file_records(str(path), stats, None, 120.0, mappings)], stats


@pytest.mark.parametrize(("name", "input_", "scale"), [
    ("http_request_duration_p95_milliseconds", "latency_ms", 1.0),
    ("request_latency_p99_seconds", "latency_ms", 1000.0),
    ("service:http_request_duration_seconds:p95", "latency_ms", 1000.0),
    ("api_response_time_ms", "latency_ms", 1.0),
    ("grpc_latency_us", "latency_ms", 0.001),
    ("http_availability_percent", "availability", 1.0),
    ("slo:availability:ratio_rate5m", "availability", 100.0),
    ("http_success_ratio", "availability", 100.0),
    ("http_requests_per_second", "request_rate", 1.0),
    ("service:http_requests:rate5m", "request_rate", 1.0),
])
def test_a_gauge_name_gives_its_sign_input_and_unit(name: str, input_: str, scale: float) -> None:
    m = convention(name)
    assert isinstance(m, Mapping) and (m.input, m.kind, m.scale) == (input_, "gauge", scale)


def test_names_that_look_like_inputs_but_cannot_be_read_say_why() -> None:
    assert "without a unit" in str(convention("checkout_latency"))
    assert "p50" in str(convention("checkout_latency_p50_ms"))
    assert convention("node_memory_Active_bytes") is None
    assert convention("process_cpu_seconds_total") is None
    hist = convention("http_request_duration_seconds_bucket")
    assert isinstance(hist, Mapping) and (hist.kind, hist.scale) == ("histogram", 1000.0)
    counter = convention("http_requests_total")
    assert isinstance(counter, Mapping) and counter.kind == "counter"


def _prom(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scrape.prom"
    p.write_text(text)
    return p


def test_request_counters_by_status_give_availability_over_the_increase_and_the_service_rate(
        tmp_path: Path) -> None:
    lines = []
    for i, (ok, bad) in enumerate([(1000, 0), (1980, 20), (50, 0)]):  # the third scrape: a restart
        ms = (T + 60 * i) * 1000
        lines += [f'http_requests_total{{job="cart",code="200"}} {ok} {ms}',
                  f'http_requests_total{{job="cart",code="502"}} {bad} {ms}']
    recs, stats = _records(_prom(tmp_path, "\n".join(lines) + "\n"))
    ratios = [(r["_ts"] - T, r["availability"].good, r["availability"].total)
              for r in recs if r["__name__"] == "availability"]
    assert ratios == [(60, 980.0, 980.0), (60, 0.0, 20.0), (120, 50.0, 50.0)]
    assert all(r["service"] == "cart" and "code" not in r for r in recs)
    rates = [(r["_ts"] - T, r["request_rate"]) for r in recs if r["__name__"] == "request_rate"]
    assert rates == [(60, pytest.approx(1000 / 60)), (120, pytest.approx(50 / 60))]
    assert stats.kinds == {"metric": len(recs)}


def test_a_summary_is_read_through_its_95th_percentile_series(tmp_path: Path) -> None:
    text = "".join(f'rpc_duration_seconds{{service="a",quantile="{q}"}} {v} {T * 1000}\n'
                   for q, v in (("0.5", 0.01), ("0.9", 0.05), ("0.95", 0.08), ("0.99", 0.2)))
    recs, _ = _records(_prom(tmp_path, text + f'rpc_duration_seconds_count{{service="a"}} 10 {T * 1000}\n'))
    assert [(r["__name__"], r["latency_ms"]) for r in recs if r["__name__"] == "latency_ms"] == [
        ("latency_ms", 80.0)]


def test_an_unsuffixed_availability_is_a_ratio_until_the_metric_shows_it_is_a_percentage(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps({"timestamp": T + i, "name": "availability", "labels": {"service": "a"},
                                     "value": v}) + "\n" for i, v in enumerate((0.995, 99.5, 1.0))))
    recs, _ = _records(p)
    assert [r["availability"] for r in recs] == [99.5, 99.5, 1.0]


def test_a_pretty_printed_query_range_response_is_read_in_time_order(tmp_path: Path) -> None:
    result = [
        {"metric": {"__name__": "http_request_duration_seconds_bucket", "service": "s", "le": le},
         "values": [[T + 30 * i, str(c * (i + 1))] for i in range(3)]}
        for le, c in (("0.1", 10), ("0.5", 18), ("+Inf", 20))
    ] + [{"metric": {"__name__": "http_requests_total", "service": "s", "status": "500"},
          "values": [[T + 30 * i, str(i)] for i in range(3)]}]
    p = tmp_path / "range.json"
    p.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}, indent=2))
    recs, stats = _records(p)
    assert stats.malformed == 0
    lat = [r for r in recs if r["__name__"] == "latency_ms"]
    assert [r["_ts"] - T for r in lat] == [30, 60]
    assert isinstance(lat[0]["latency_ms"], Buckets)
    assert lat[0]["latency_ms"].bounds == (100.0, 500.0, float("inf"))
    assert lat[0]["latency_ms"].counts == [10.0, 18.0, 20.0]
    bad = [r["availability"] for r in recs if r["__name__"] == "availability"]
    assert [(b.good, b.total) for b in bad] == [(0.0, 1.0), (0.0, 1.0)]


def test_an_instant_query_response_on_one_line_is_read(tmp_path: Path) -> None:
    p = tmp_path / "q.json"
    p.write_text(json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "http_request_duration_p95_milliseconds", "service": "a"},
         "value": [T, "123.5"]}]}}) + "\n")
    recs, _ = _records(p)
    assert [(r["service"], r["latency_ms"], r["metric"]) for r in recs] == [
        ("a", 123.5, "http_request_duration_p95_milliseconds")]


def _otlp_line(metrics: list[dict[str, Any]], service: str = "pay") -> str:
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeMetrics": [{"scope": {"name": "x"}, "metrics": metrics}]}]}) + "\n"


def test_otlp_json_histograms_gauges_and_delta_sums_are_read(tmp_path: Path) -> None:
    def hist(t: int, counts: list[int], code: int, temporality: int = 1) -> dict[str, Any]:
        return {"name": "http.server.request.duration", "unit": "s", "histogram": {
            "aggregationTemporality": temporality, "dataPoints": [{
                "attributes": [{"key": "http.response.status_code", "value": {"intValue": str(code)}}],
                "startTimeUnixNano": str((t - 60) * 10**9), "timeUnixNano": str(t * 10**9),
                "count": str(sum(counts)), "bucketCounts": [str(c) for c in counts],
                "explicitBounds": [0.1, 0.5]}]}}

    gauge = {"name": "queue.depth", "unit": "{item}", "gauge": {"dataPoints": [
        {"timeUnixNano": str(T * 10**9), "asInt": "7"}]}}
    expo = {"name": "http.client.request.duration", "unit": "s", "exponentialHistogram": {
        "dataPoints": [{"timeUnixNano": str(T * 10**9), "count": "3"}]}}
    p = tmp_path / "otlp.jsonl"
    p.write_text(_otlp_line([hist(T, [5, 3, 2], 200), gauge, expo]) + _otlp_line([hist(T + 60, [1, 0, 1], 503)]))
    recs, stats = _records(p)
    lat = [r for r in recs if r["__name__"] == "latency_ms"]
    assert [(r["service"], r["latency_ms"].counts) for r in lat] == [("pay", [5.0, 8.0, 10.0]),
                                                                     ("pay", [1.0, 1.0, 2.0])]
    assert lat[0]["latency_ms"].bounds == (100.0, 500.0, float("inf"))
    avail = [r["availability"] for r in recs if r["__name__"] == "availability"]
    assert [(a.good, a.total) for a in avail] == [(10.0, 10.0), (0.0, 2.0)]
    assert [r["queue.depth"] for r in recs if r["__name__"] == "queue.depth"] == [7.0]
    assert [r["request_rate"] for r in recs if r["__name__"] == "request_rate"] == [
        pytest.approx(10 / 60), pytest.approx(2 / 60)]
    assert "http.client.request.duration" in stats.unread_metrics


def test_detect_metrics_in_cnsec_yaml_maps_a_metric_with_its_unit(tmp_path: Path) -> None:
    cfg = tmp_path / ".cnsec.yaml"
    cfg.write_text("ignore: []\ndetect:\n  metrics:\n"
                   "    - {metric: 'checkout_slowness', input: latency_ms, unit: s, labels: {env: prod}}\n"
                   "    - {metric: 'ok_*', input: availability, unit: ratio, service: app}\n")
    mappings = load_mappings(str(cfg))
    p = _prom(tmp_path, f'checkout_slowness{{service="c",env="prod"}} 0.25 {T * 1000}\n'
                        f'checkout_slowness{{service="c",env="dev"}} 0.5 {T * 1000}\n'
                        f'ok_share{{app="c"}} 0.97 {T * 1000}\n')
    recs, _ = _records(p, mappings)
    assert sorted((r["__name__"], r.get("service"), r[r["__name__"]]) for r in recs) == [
        ("availability", "c", 97.0), ("checkout_slowness", "c", 0.5), ("latency_ms", "c", 250.0)]


@pytest.mark.parametrize(("text", "message"), [
    ("detect: [1]\n", "detect: must be a mapping"),
    ("detect:\n  metrics: {a: 1}\n", "must be a list"),
    ("detect:\n  metrics: [{metric: x}]\n", "needs 'metric'"),
    ("detect:\n  metrics: [{metric: x, input: latency_ms}]\n", "needs a unit"),
    ("detect:\n  metrics: [{metric: x, input: latency_ms, unit: parsecs}]\n", "does not fit"),
    ("detect:\n  metrics: [{metric: x, input: latency_ms, unit: s, type: meter}]\n", "type must be"),
])
def test_a_broken_detect_metrics_entry_is_a_configuration_error(text: str, message: str) -> None:
    import yaml

    with pytest.raises(ConfigError, match=message):
        parse_mappings(yaml.safe_load(text), ".cnsec.yaml")


def test_ratio_records_average_as_requests_not_as_scrapes() -> None:
    from tests.detect.correlate.helpers import correlator, feed

    c = correlator("signs:\n  - {id: avail, expr: 'availability by service < 99 over 5m', min_count: 20}\n"
                   "threats:\n  - id: denial-of-service\n    rules: [{id: r, any: [avail], by: service}]\n")
    base = 1_767_225_600.0
    recs = [{"_ts": base + 10, "_kind": "metric", "__name__": "availability", "service": "a",
             "availability": Ratio(1000.0, 1000.0)},
            {"_ts": base + 20, "_kind": "metric", "__name__": "availability", "service": "a",
             "availability": Ratio(0.0, 30.0)}]
    alerts = feed(c, recs)
    # two scrapes averaged would be 50%; over the requests it is 1000 / 1030
    assert [round(e["value"], 3) for a in alerts for e in a.evidence] == [round(100 * 1000 / 1030, 3)]


DATA = Path(__file__).parent / "data"


def test_a_real_prometheus_scrape_reads_its_http_histograms_and_counters_and_nothing_else(tmp_path: Path) -> None:
    """Prometheus's own scrape (237 metric families): two scrapes of it, the second with ten more
    requests in the first bucket of every HTTP histogram and on every request counter."""
    import gzip

    lines = [x for x in gzip.decompress((DATA / "prometheus-alltypes.prom.gz").read_bytes()).decode().splitlines()
             if x and not x.startswith("#")]
    second = []
    for line in lines:
        head, _, value = line.rpartition(" ")
        if head.startswith(("prometheus_http_request_duration_seconds_bucket", "prometheus_http_requests_total")):
            value = repr(float(value) + 10)
        second.append(f"{head} {value}")
    p = tmp_path / "two-scrapes.prom"
    p.write_text("".join(f"{x} {T * 1000}\n" for x in lines) + "".join(f"{x} {(T + 15) * 1000}\n" for x in second))
    recs, stats = _records(p)
    assert stats.malformed == 0 and stats.unread_metrics == {}
    lat = [r for r in recs if r["__name__"] == "latency_ms"]
    hist = [r for r in lat if isinstance(r["latency_ms"], Buckets)]
    handlers = {r["handler"] for r in hist}
    assert len(handlers) == len(hist) >= 10 and all(r["metric"] == "prometheus_http_request_duration_seconds"
                                                   for r in hist)
    assert all(r["latency_ms"].counts == [10.0] * len(r["latency_ms"].counts) for r in hist)
    assert hist[0]["latency_ms"].bounds[0] == 100.0  # le="0.1" seconds
    # summaries and gauges of garbage collection, queries or rule groups are not request latencies
    assert {r["metric"] for r in lat} <= {"prometheus_http_request_duration_seconds",
                                          "prometheus_notifications_latency_seconds"}
    avail = [(r["metric"], r["handler"], r["availability"]) for r in recs if r["__name__"] == "availability"]
    assert len(avail) == 82  # every series of the counter, by code: 3 of them 503s
    assert sorted((a.good, a.total) for _, _, a in avail)[:4] == [(0.0, 10.0)] * 3 + [(10.0, 10.0)]


def test_the_otlp_json_example_of_the_specification_is_read() -> None:
    recs, stats = _records(DATA / "otlp-metrics.json")
    assert stats.malformed == 0
    by_name = {r["__name__"]: r for r in recs}
    assert by_name["my.counter"]["my.counter"] == 5.0 and by_name["my.gauge"]["my.gauge"] == 10.0
    assert by_name["my.gauge"]["service"] == "my.service" and by_name["my.gauge"]["my.gauge.attr"] == "some value"
    assert by_name["my.gauge"]["_ts"] == 1544712660.3


def test_metrics_not_read_beyond_the_named_fifty_are_still_reported(tmp_path: Path) -> None:
    expo = [{"name": f"rpc.duration.{i}", "unit": "s", "exponentialHistogram": {
        "dataPoints": [{"timeUnixNano": str(T * 10**9), "count": "3"}]}} for i in range(60)]
    p = tmp_path / "otlp.jsonl"
    p.write_text(_otlp_line(expo))
    _, stats = _records(p)
    assert len(stats.unread_metrics) == 50
    assert [pr.message for pr in stats.problems] == [
        "more metrics not read than the 50 named (10 further samples or names)"]
