from __future__ import annotations

import random

from cnsec.detect.correlate.baseline import Baseline, Ewma, LogHistogram, P2Quantile


def test_p2_tracks_the_95th_percentile_of_a_stream() -> None:
    rng = random.Random(5)
    data = [rng.lognormvariate(3, 0.5) for _ in range(20_000)]
    est = P2Quantile(0.95)
    for x in data:
        est.update(x)
    exact = sorted(data)[int(0.95 * len(data))]
    assert est.value() is not None
    assert abs(est.value() - exact) / exact < 0.03  # type: ignore[operator]


def test_p2_answers_with_few_samples() -> None:
    est = P2Quantile(0.5)
    for x in (5.0, 1.0, 3.0):
        est.update(x)
    assert est.value() == 3.0


def test_ewma_follows_a_level_shift_gradually() -> None:
    e = Ewma(alpha=0.1)
    for _ in range(50):
        e.update(10.0)
    e.update(100.0)
    assert 18.0 < e.mean < 20.0


def test_baseline_round_trips_through_its_dict() -> None:
    b = Baseline(quantile=True)
    for x in range(1, 200):
        b.update(float(x % 17))
    again = Baseline.from_dict(b.to_dict())
    assert again.p95 is not None and b.p95 is not None
    assert (again.n, again.ewma.mean, again.p95.value()) == (b.n, b.ewma.mean, b.p95.value())
    again.update(3.0)
    b.update(3.0)
    assert again.to_dict() == b.to_dict()


def test_log_histogram_quantile_within_two_percent_and_order_free() -> None:
    rng = random.Random(9)
    data = [rng.expovariate(1 / 80) for _ in range(5000)]
    h1, h2 = LogHistogram(), LogHistogram()
    for x in data:
        h1.add(x)
    for x in reversed(data):
        h2.add(x)
    exact = sorted(data)[int(0.95 * len(data)) - 1]
    assert h1.quantile(0.95) == h2.quantile(0.95)
    assert abs(h1.quantile(0.95) - exact) / exact < 0.02


def test_log_histogram_counts_zeros() -> None:
    h = LogHistogram()
    for x in (0.0, 0.0, 0.0, 10.0):
        h.add(x)
    assert h.quantile(0.5) == 0.0
    assert 9.8 < h.quantile(1.0) < 10.2
