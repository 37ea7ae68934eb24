"""Windows, baselines in use, the rule modes, alert folding and LRU eviction."""

from __future__ import annotations

from tests.detect.correlate.helpers import T, access, correlator, feed, metric

RATE = """
signs:
  - id: many-401
    expr: "rate(status = 401) by src_ip > 20/min over 1m"
threats:
  - id: credential-abuse
    rules:
      - {id: r, any: [many-401], by: src_ip, action: deny_access}
"""


def test_rate_sign_fires_at_the_record_that_crosses_the_threshold() -> None:
    c = correlator(RATE)
    alerts = feed(c, [access(T + i, status=401) for i in range(30)])
    assert [(a.key, a.first_seen, a.action) for a in alerts] == [("ip=10.0.0.1", T + 20, "deny_access")]


def test_rate_below_threshold_raises_nothing() -> None:
    assert feed(correlator(RATE), [access(T + i * 3, status=401) for i in range(20)]) == []


def test_windows_are_aligned_so_a_burst_split_by_a_boundary_counts_in_two_windows() -> None:
    # 15 in the last seconds of one minute, 15 in the first seconds of the next: neither window has 21
    records = [access(T + 45 + i, status=401) for i in range(15)] + [access(T + 60 + i, status=401)
                                                                     for i in range(15)]
    assert feed(correlator(RATE), records) == []


def test_filter_and_grouping_keep_keys_apart() -> None:
    records = [access(T + i, ip=f"10.0.0.{i % 3}", status=401) for i in range(45)]
    assert feed(correlator(RATE), records) == []


BASELINE = """
signs:
  - id: slow
    expr: "p95(latency_ms) by service > 2 × baseline over 5m"
    min_count: 5
    warmup: 3
threats:
  - id: denial-of-service
    rules:
      - {id: r, any: [slow], by: service, action: block_traffic}
"""


def _latency(start_window: int, windows: int, value: float, service: str = "web") -> list[dict]:
    return [metric(T + (start_window + w) * 300 + i * 30, "latency_ms", value, service=service)
            for w in range(windows) for i in range(10)]


def test_baseline_comparison_waits_for_warmup() -> None:
    assert feed(correlator(BASELINE), _latency(0, 2, 100.0) + _latency(2, 1, 500.0)) == []


def test_value_above_twice_the_learned_baseline_fires_at_window_end() -> None:
    alerts = feed(correlator(BASELINE), _latency(0, 4, 100.0) + _latency(4, 1, 500.0))
    assert [(a.key, a.first_seen) for a in alerts] == [("service=web", T + 5 * 300)]
    ev = alerts[0].evidence[0]
    assert ev["baseline"] == 100.0 or abs(ev["baseline"] - 100.0) < 2.5


def test_anomalous_windows_do_not_become_the_baseline() -> None:
    c = correlator(BASELINE)
    feed(c, _latency(0, 4, 100.0) + _latency(4, 6, 500.0))
    sign = c.catalog.signs["slow"]
    assert abs(sign.baselines["web"].ewma.mean - 100.0) < 3  # type: ignore[union-attr]


def test_min_count_leaves_thin_windows_unjudged() -> None:
    sparse = [metric(T + 5 * 300 + 10, "latency_ms", 900.0, service="web")]
    assert feed(correlator(BASELINE), _latency(0, 4, 100.0) + sparse) == []


def test_new_key_is_judged_against_everyone_else_baseline() -> None:
    alerts = feed(correlator(BASELINE), _latency(0, 4, 100.0) + _latency(4, 1, 500.0, service="new"))
    assert [a.key for a in alerts] == ["service=new"]


MODES = """
signs:
  - {id: a, match: 'path = "/a"'}
  - {id: b, match: 'path = "/b"'}
  - {id: c, match: 'path = "/c"'}
threats:
  - id: sql-injection
    rules:
      - {id: all-ab, all: [a, b], within: 1m, by: src_ip, action: block_traffic}
      - {id: seq-abc, sequence: [a, b, c], within: 2m, by: src_ip}
      - {id: two-of-three, n_of: {n: 2, signs: [a, b, c]}, within: 1m, by: src_ip}
"""


def _paths(*steps: tuple[float, str]) -> list[dict]:
    return [access(T + t, path=p) for t, p in steps]


def test_all_needs_every_sign_within_the_window() -> None:
    assert {a.rule_id for a in feed(correlator(MODES), _paths((0, "/a"), (30, "/b")))} == {"all-ab", "two-of-three"}
    assert feed(correlator(MODES), _paths((0, "/a"), (90, "/b"))) == []


def test_sequence_needs_the_order() -> None:
    forward = feed(correlator(MODES), _paths((0, "/a"), (10, "/b"), (20, "/c")))
    backward = feed(correlator(MODES), _paths((0, "/c"), (10, "/b"), (20, "/a")))
    assert "seq-abc" in {a.rule_id for a in forward}
    assert "seq-abc" not in {a.rule_id for a in backward}


def test_sequence_expires_after_its_window() -> None:
    assert "seq-abc" not in {a.rule_id for a in feed(correlator(MODES), _paths((0, "/a"), (10, "/b"),
                                                                               (200, "/c")))}


def test_repeated_fires_fold_into_one_alert_with_a_count() -> None:
    steps = [(i * 20.0, "/a") for i in range(5)] + [(i * 20.0 + 5, "/b") for i in range(5)]
    alerts = [a for a in feed(correlator(MODES), _paths(*steps)) if a.rule_id == "all-ab"]
    assert len(alerts) == 1 and alerts[0].count == 5


def test_alert_key_uses_respond_labels() -> None:
    alerts = feed(correlator(MODES), _paths((0, "/a"), (1, "/b")))
    assert {a.key for a in alerts} == {"ip=10.0.0.1"}


EVICT = """
signs:
  - {id: a, match: 'path = "/a"'}
  - {id: b, match: 'path = "/b"'}
threats:
  - id: sql-injection
    rules:
      - {id: ab, all: [a, b], within: 1h, by: src_ip}
"""


def test_lru_eviction_is_counted_and_forgets_the_oldest_keys() -> None:
    c = correlator(EVICT, max_keys=10)
    records = [access(T + i, ip=f"10.1.0.{i}", path="/a") for i in range(25)]
    records += [access(T + 100, ip="10.1.0.0", path="/b"), access(T + 101, ip="10.1.0.24", path="/b")]
    alerts = feed(c, records)
    assert [a.key for a in alerts] == ["ip=10.1.0.24"]  # 10.1.0.0 was evicted before its /b came
    stats = c.stats()
    assert stats["evictions"] == {"rule:ab": 16}  # 15 by the /a flood, 1 by the late /b of 10.1.0.0
    assert stats["live_keys"] <= 10 + 1


def test_window_state_is_bounded_by_max_keys() -> None:
    c = correlator(RATE, max_keys=50)
    feed(c, [access(T + i * 0.01, ip=f"10.2.{i // 250}.{i % 250}", status=401) for i in range(1000)])
    assert c.stats()["evictions"]["sign:many-401:window"] == 950
