"""A week of per-service HTTP metrics as people have them, written in the naming conventions and formats
``cnsec correlate`` reads: daily seasonality, noise, a short benign blip every day (a deploy: slower,
a few errors), and optionally a 20-minute denial of service on one service.

The traffic model is one per service and minute: a request count (diurnal, noisy), a log-normal latency
distribution (its median follows the day) and a 5xx ratio. Each convention renders that same model:

* ``gauges``: Prometheus text scrapes of recording-rule style gauges: a p95 latency in milliseconds,
  an availability percentage, a request rate;
* ``histogram``: Prometheus text scrapes of a client library's histogram
  (``http_request_duration_seconds_bucket{le}``, ``_sum``, ``_count``) and ``http_requests_total{code}``;
* ``query_range``: the same histogram and counter as a pretty-printed ``/api/v1/query_range`` matrix;
* ``otlp``: OTLP/JSON exports, one a line (the Collector's file exporter), of OpenTelemetry's
  ``http.server.request.duration`` histogram (seconds, cumulative) by ``http.response.status_code``;
* ``jsonl``: cnsec's JSON sample lines with a p95 latency in seconds and availability as a 0-1 ratio.

Deterministic for a seed.
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a Thursday
WEEK = 7 * 86_400
STEP = 60
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # client_golang's defaults
SERVICES = {"checkout": 40.0, "search": 110.0}  # requests per second at the daily peak
SIGMA = 0.5  # spread of log latency
Z95 = 1.6448536269514722
DOS_SERVICE = "checkout"
DOS_START = T0 + 4 * 86_400 + 14 * 3600 + 10 * 60  # Monday 14:10
DOS_END = DOS_START + 20 * 60
CONVENTIONS = ("gauges", "histogram", "query_range", "otlp", "jsonl")


def diurnal(ts: float) -> float:
    """0.25 at 04:00 UTC, 1.0 at 16:00 UTC."""
    hour = (ts % 86_400) / 3600.0
    return 0.625 + 0.375 * math.sin(2 * math.pi * (hour - 10) / 24)


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass
class Minute:
    """One service's traffic in one step: requests, 5xx responses, latency median (seconds)."""

    requests: int
    errors: int
    median: float
    buckets: list[int]  # observations per bucket of BOUNDS + (+Inf), not cumulative
    seconds_sum: float

    @property
    def p95_seconds(self) -> float:
        return self.median * math.exp(Z95 * SIGMA)


@functools.lru_cache(maxsize=4)
def traffic(seed: int, dos: bool, start: int = T0, end: int = T0 + WEEK) -> dict[str, list[tuple[int, Minute]]]:
    """Per service, one :class:`Minute` per step (cached: every convention renders the same week)."""
    rng = random.Random(seed)
    blips = {day: T0 + day * 86_400 + rng.randrange(2 * 3600, 22 * 3600, STEP) for day in range(8)}
    out: dict[str, list[tuple[int, Minute]]] = {s: [] for s in SERVICES}
    for t in range(start, end, STEP):
        day = (t - T0) // 86_400
        blip = blips[day] <= t < blips[day] + 2 * STEP
        for svc, peak in SERVICES.items():
            attack = dos and svc == DOS_SERVICE and DOS_START <= t < DOS_END
            rate = peak * diurnal(t) * rng.lognormvariate(0, 0.08) * (5.0 if attack else 1.0)
            n = max(1, int(rate * STEP))
            median = 0.060 * (1 + 0.5 * diurnal(t)) * rng.lognormvariate(0, 0.05)
            err = 0.002 * rng.lognormvariate(0, 0.5)
            if blip:
                median *= 1.8
                err = 0.015
            if attack:
                median *= 6.0
                err = 0.15
            errors = min(n, int(n * err + rng.random()))
            cdf = [phi((math.log(b) - math.log(median)) / SIGMA) for b in BOUNDS] + [1.0]
            buckets = []
            prev = 0.0
            for c in cdf:
                expected = n * (c - prev)
                prev = c
                buckets.append(max(0, round(expected + math.sqrt(expected) * rng.gauss(0, 1) * 0.3)))
            total = sum(buckets)
            out[svc].append((t, Minute(total, min(errors, total), median, buckets,
                                       total * median * math.exp(SIGMA ** 2 / 2))))
    return out


def _cumulative(series: list[tuple[int, Minute]]) -> list[tuple[int, list[int], float, int, int]]:
    """Running totals as a client library exposes them: (t, cumulative bucket counts by le, sum,
    requests without a 5xx, 5xx)."""
    counts = [0] * (len(BOUNDS) + 1)
    total_sum, ok, bad = 0.0, 0, 0
    out = []
    for t, m in series:
        for i, c in enumerate(m.buckets):
            counts[i] += c
        total_sum += m.seconds_sum
        ok += m.requests - m.errors
        bad += m.errors
        cum, run = [], 0
        for c in counts:
            run += c
            cum.append(run)
        out.append((t, cum, total_sum, ok, bad))
    return out


def _le(b: float) -> str:
    return "+Inf" if b == math.inf else repr(b)


def write(convention: str, path: Path, seed: int = 5, dos: bool = True, start: int = T0,
          end: int = T0 + WEEK) -> Path:
    data = traffic(seed, dos, start, end)
    writer = {"gauges": _gauges, "histogram": _histogram_text, "query_range": _query_range,
              "otlp": _otlp, "jsonl": _jsonl}[convention]
    with path.open("w", encoding="utf-8") as f:
        writer(data, f, random.Random(seed + 1))
    return path


def _gauges(data: dict[str, list[tuple[int, Minute]]], f: object, rng: random.Random) -> None:
    w = f.write  # type: ignore[attr-defined]
    w("# HELP http_request_duration_p95_milliseconds 95th percentile of request latency over 1m\n"
      "# TYPE http_request_duration_p95_milliseconds gauge\n")
    steps = list(zip(*data.values(), strict=True))
    for row in steps:
        for svc, (t, m) in zip(data, row, strict=True):
            ms = int(t * 1000) + rng.randrange(0, 900)
            p95 = m.p95_seconds * 1000 * rng.lognormvariate(0, 0.04)
            w(f'http_request_duration_p95_milliseconds{{service="{svc}",env="prod"}} {p95:.2f} {ms}\n')
            w(f'http_availability_percent{{service="{svc}",env="prod"}} '
              f'{100.0 * (m.requests - m.errors) / m.requests:.4f} {ms}\n')
            w(f'http_requests_per_second{{service="{svc}",env="prod"}} {m.requests / STEP:.3f} {ms}\n')


def _histogram_text(data: dict[str, list[tuple[int, Minute]]], f: object, rng: random.Random) -> None:
    w = f.write  # type: ignore[attr-defined]
    cums = {svc: _cumulative(series) for svc, series in data.items()}
    for rows in zip(*cums.values(), strict=True):
        w("# HELP http_request_duration_seconds request latency\n# TYPE http_request_duration_seconds histogram\n")
        for svc, (t, cum, total_sum, ok, bad) in zip(cums, rows, strict=True):
            ms = int(t * 1000) + 250
            lab = f'job="{svc}",instance="{svc}-0:8080"'
            for b, c in zip((*BOUNDS, math.inf), cum, strict=True):
                w(f'http_request_duration_seconds_bucket{{{lab},le="{_le(b)}"}} {c} {ms}\n')
            w(f"http_request_duration_seconds_sum{{{lab}}} {total_sum:.3f} {ms}\n")
            w(f"http_request_duration_seconds_count{{{lab}}} {cum[-1]} {ms}\n")
            w(f'http_requests_total{{{lab},method="GET",code="200"}} {ok} {ms}\n')
            w(f'http_requests_total{{{lab},method="GET",code="503"}} {bad} {ms}\n')


def _query_range(data: dict[str, list[tuple[int, Minute]]], f: object, rng: random.Random) -> None:
    result = []
    for svc, series in data.items():
        cum = _cumulative(series)
        labels = {"job": "kubernetes-pods", "namespace": "shop", "service": svc}
        for i, b in enumerate((*BOUNDS, math.inf)):
            result.append({"metric": {"__name__": "http_request_duration_seconds_bucket", **labels, "le": _le(b)},
                           "values": [[t, str(c[i])] for t, c, _, _, _ in cum]})
        for code, idx in (("200", 3), ("500", 4)):
            result.append({"metric": {"__name__": "http_requests_total", **labels, "status": code},
                           "values": [[row[0], str(row[idx])] for row in cum]})
    json.dump({"status": "success", "data": {"resultType": "matrix", "result": result}}, f, indent=1)  # type: ignore[arg-type]


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _otlp(data: dict[str, list[tuple[int, Minute]]], f: object, rng: random.Random) -> None:
    """Cumulative temporality; each status code is its own data point (its own series)."""
    w = f.write  # type: ignore[attr-defined]
    start_ns = (T0 - 3600) * 10**9
    state = {svc: {200: [0] * (len(BOUNDS) + 1), 503: [0] * (len(BOUNDS) + 1)} for svc in data}
    sums = {svc: {200: 0.0, 503: 0.0} for svc in data}
    for rows in zip(*data.values(), strict=True):
        resource_metrics = []
        for svc, (t, m) in zip(data, rows, strict=True):
            share = m.errors / m.requests if m.requests else 0.0
            points = []
            for code in (200, 503):
                frac = share if code == 503 else 1.0 - share
                counts = state[svc][code]
                for i, c in enumerate(m.buckets):
                    counts[i] += round(c * frac)
                sums[svc][code] += m.seconds_sum * frac
                points.append({
                    "attributes": [_attr("http.request.method", "GET"), _attr("http.response.status_code", code),
                                   _attr("http.route", "/api/items")],
                    "startTimeUnixNano": str(start_ns), "timeUnixNano": str((t + 5) * 10**9),
                    "count": str(sum(counts)), "sum": round(sums[svc][code], 3),
                    "bucketCounts": [str(c) for c in counts], "explicitBounds": list(BOUNDS)})
            resource_metrics.append({
                "resource": {"attributes": [_attr("service.name", svc), _attr("service.instance.id", f"{svc}-1")]},
                "scopeMetrics": [{"scope": {"name": "io.opentelemetry.http"}, "metrics": [{
                    "name": "http.server.request.duration", "unit": "s",
                    "description": "Duration of HTTP server requests.",
                    "histogram": {"aggregationTemporality": 2, "dataPoints": points}}]}]})
        w(json.dumps({"resourceMetrics": resource_metrics}, separators=(",", ":")) + "\n")


def _jsonl(data: dict[str, list[tuple[int, Minute]]], f: object, rng: random.Random) -> None:
    w = f.write  # type: ignore[attr-defined]
    for rows in zip(*data.values(), strict=True):
        for svc, (t, m) in zip(data, rows, strict=True):
            stamp = t + rng.random() * 5
            labels = {"service": svc, "region": "eu-west-1"}
            w(json.dumps({"timestamp": stamp, "name": "request_latency_p95_seconds", "labels": labels,
                          "value": round(m.p95_seconds * rng.lognormvariate(0, 0.04), 5)}) + "\n")
            w(json.dumps({"timestamp": stamp, "name": "availability_ratio", "labels": labels,
                          "value": round((m.requests - m.errors) / m.requests, 6)}) + "\n")
