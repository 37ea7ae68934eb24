"""Quantiles from Prometheus histograms: ``bucket_quantile`` against a brute-force oracle on generated
histograms, and the window's quantile from cumulative scrapes (increases, then the quantile, as
``histogram_quantile(q, increase(…_bucket[w]))`` does)."""

from __future__ import annotations

import math
import random

import pytest

from cnsec.detect.correlate.metrics import Buckets, MetricReader, Sample, WindowBuckets, bucket_quantile

INF = math.inf


def oracle(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """Brute force: bisect the piecewise-linear cumulative count (observations spread evenly inside
    each finite bucket, the first from 0) for the point where it reaches q × total."""
    finite = bounds[:-1]
    per_bucket = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]
    total = cumulative[-1]
    rank = q * total
    if rank > cumulative[-2]:  # beyond the last finite bound: PromQL answers that bound
        return finite[-1]

    def cdf(x: float) -> float:
        seen, lo = 0.0, 0.0
        for hi, n in zip(finite, per_bucket, strict=False):
            if x >= hi:
                seen += n
            elif x > lo:
                seen += n * (x - lo) / (hi - lo)
            lo = hi
        return seen

    lo, hi = 0.0, finite[-1]
    for _ in range(200):
        mid = (lo + hi) / 2
        if cdf(mid) < rank:
            lo = mid
        else:
            hi = mid
    return hi


def _histogram(rng: random.Random) -> tuple[list[float], list[float], list[float]]:
    """Random positive bounds + the +Inf bucket, and cumulative counts of log-normal observations."""
    k = rng.randint(2, 14)
    bounds = [*sorted({round(math.exp(rng.uniform(-6, 3)), 6) for _ in range(k)}), INF]
    obs = [rng.lognormvariate(rng.uniform(-4, 1), rng.uniform(0.2, 1.5)) for _ in range(rng.randint(1, 400))]
    cumulative = [float(sum(1 for x in obs if x <= b)) for b in bounds]
    return bounds, cumulative, obs


def test_bucket_quantile_matches_a_brute_force_oracle_on_two_thousand_generated_histograms() -> None:
    rng = random.Random(2026)
    checked = 0
    for _ in range(2000):
        bounds, cum, obs = _histogram(rng)
        if len(bounds) < 2 or cum[-1] == 0:
            continue
        for q in (0.5, 0.9, 0.95, 0.99, rng.random()):
            got = bucket_quantile(q, bounds, cum)
            want = oracle(q, bounds, cum)
            assert got is not None
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (q, bounds, cum)
            # the true quantile of the observations lies in the bucket the estimate is in
            true = sorted(obs)[max(0, math.ceil(q * len(obs)) - 1)]
            b = next(i for i, c in enumerate(cum) if c >= q * cum[-1])
            if b < len(bounds) - 1:
                lower = bounds[b - 1] if b else 0.0
                assert lower <= true <= bounds[b] or math.isclose(q * cum[-1], cum[b - 1] if b else 0.0)
            checked += 1
    assert checked > 8000


def test_bucket_quantile_follows_promql_at_the_edges() -> None:
    assert bucket_quantile(0.5, [0.1, 1.0], [1.0, 2.0]) is None  # no +Inf bucket
    assert bucket_quantile(0.5, [0.1, INF], [0.0, 0.0]) is None  # no observations
    assert bucket_quantile(0.5, [INF], [3.0]) is None  # fewer than two buckets
    assert bucket_quantile(0.99, [0.1, 0.2, INF], [1.0, 2.0, 10.0]) == 0.2  # in +Inf: the last finite bound
    assert bucket_quantile(0.5, [-1.0, 0.5, INF], [5.0, 6.0, 6.0]) == -1.0  # first bound <= 0
    assert bucket_quantile(0.5, [1.0, 2.0, INF], [4.0, 4.0, 8.0]) == 1.0  # rank at a bound: the first such bucket
    # counts that go down (scrapes of different moments summed) are raised to the previous one
    assert bucket_quantile(0.5, [1.0, 2.0, INF], [6.0, 5.0, 8.0]) == bucket_quantile(
        0.5, [1.0, 2.0, INF], [6.0, 6.0, 8.0])
    assert bucket_quantile(-0.1, [1.0, INF], [1.0, 1.0]) == -INF
    assert bucket_quantile(1.1, [1.0, INF], [1.0, 1.0]) == INF


def _scrape(reader: MetricReader, ts: float, cumulative: dict[float, float], svc: str = "web") -> list[dict]:
    out = []
    for le, c in cumulative.items():
        out += reader.feed(Sample(ts, "http_request_duration_seconds_bucket",
                                  {"service": svc, "le": "+Inf" if le == INF else repr(le)}, c))
    return out


def test_a_window_quantile_is_taken_over_the_increase_of_cumulative_buckets_across_a_reset() -> None:
    rng = random.Random(9)
    bounds = [0.05, 0.1, 0.25, 0.5, 1.0, INF]
    reader = MetricReader()
    running = dict.fromkeys(bounds, 0.0)
    window_obs: list[float] = []
    records: list[dict] = []
    for step in range(12):
        batch = [rng.lognormvariate(-2.2, 0.6) for _ in range(rng.randint(50, 150))]
        if step == 7:  # the process restarted: its counters start again from zero
            running = dict.fromkeys(bounds, 0.0)
        for x in batch:
            for b in bounds:
                if x <= b:
                    running[b] += 1
        if step > 0:  # the first scrape only sets where the counters stand
            window_obs += batch
        records += _scrape(reader, 1_000 + 15 * step, dict(running))
    records += reader.flush()
    hist = [r["latency_ms"] for r in records if r["__name__"] == "latency_ms"]
    assert all(isinstance(h, Buckets) for h in hist) and len(hist) == 11
    acc = WindowBuckets()
    for h in hist:
        acc.add(h)
    assert acc.total == len(window_obs)
    cum = [float(sum(1 for x in window_obs if x <= b)) for b in bounds]
    ms = [b * 1000 for b in bounds]
    for q in (0.5, 0.95, 0.99):
        assert acc.quantile(q) == pytest.approx(oracle(q, ms, cum), rel=1e-9)


def test_a_histogram_without_its_inf_bucket_is_reported_not_guessed() -> None:
    reader = MetricReader()
    for ts in (0.0, 15.0, 30.0):
        reader.feed(Sample(ts, "rpc_latency_seconds_bucket", {"le": "0.1", "service": "a"}, ts))
    reader.flush()
    assert "+Inf" in reader.unread["rpc_latency_seconds"]
