"""Metric samples as people have them → the *sign inputs* the catalog reads.

The bundled signs read three inputs: ``latency_ms`` (milliseconds), ``availability`` (percent of
requests without a 5xx) and ``request_rate`` (requests per second of a service). Metrics rarely carry
those names, so each sample is read through a :class:`Mapping` chosen, once per metric name, from

1. the ``detect.metrics`` entries of ``.cnsec.yaml`` (:func:`load_mappings`), first match wins;
2. the conventions users have (:func:`convention`): Prometheus histograms
   (``*_duration_seconds_bucket{le}``), summaries (``{quantile="0.95"}``), request counters
   (``http_requests_total{code}``), gauges whose name gives the unit (``_seconds``, ``_ms``,
   ``_ratio``, ``_percent``), OpenTelemetry's ``http.server.request.duration`` (seconds, with
   ``http.response.status_code``);
3. otherwise the metric name itself holds the value (``rows_returned``), as before.

Counters and histograms are cumulative: like Prometheus, the reader takes each series' increase
between consecutive samples (a decrease is a counter reset: the new value is the increase), and hands
the window the increases, not the totals. A histogram's increases travel as :class:`Buckets`, summed per
``le`` within a window and turned into a quantile by :func:`bucket_quantile` exactly as PromQL's
``histogram_quantile(q, sum by (le) (increase(…_bucket[window])))``; counter increases by status
travel as :class:`Ratio` (requests without a 5xx, requests), so a window's availability is
non-5xx / total over the window, not an average of per-scrape ratios.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cnsec.errors import ConfigError
from cnsec.model.source import Source

Record = dict[str, Any]
INF = math.inf

#: sign inputs with a meaning and a unit of their own (``cnsec threats list`` shows what feeds them)
INPUTS: dict[str, str] = {
    "latency_ms": "latency in milliseconds: access logs with a request time (nginx request_time, Envoy "
                  "duration, a trailing time in combined logs); latency histograms (*_duration_seconds"
                  "_bucket / *_latency_ms_bucket, OpenTelemetry http.server.request.duration); summary "
                  "quantile 0.95; latency gauges whose name gives the unit (*_seconds, *_ms); "
                  "detect.metrics in .cnsec.yaml",
    "availability": "percent of requests without a 5xx: access logs; request counters by status "
                    "(http_requests_total{code}); histograms with a status label; availability / "
                    "success gauges (*_ratio 0-1, *_percent 0-100); detect.metrics in .cnsec.yaml",
    "request_rate": "requests per second of a service: request counters (http_requests_total, a "
                    "histogram's count); rate gauges (*_requests_per_second, *_rps); detect.metrics in "
                    ".cnsec.yaml",
}
#: labels that name the service, in order of preference (the bundled signs key by ``service``)
SERVICE_LABELS = ("service", "service_name", "service.name", "app", "app_kubernetes_io_name",
                  "kubernetes_name", "job")
#: labels that hold an HTTP status (or a class such as ``5xx``)
STATUS_LABELS = ("code", "status", "status_code", "http_status", "http_status_code", "response_code",
                 "http_response_status_code", "http.response.status_code", "http.status_code")
UNITS = {"seconds": 1000.0, "second": 1000.0, "s": 1000.0, "sec": 1000.0, "milliseconds": 1.0,
         "millisecond": 1.0, "ms": 1.0, "microseconds": 0.001, "microsecond": 0.001, "us": 0.001,
         "nanoseconds": 1e-6, "ns": 1e-6}
PERCENT_UNITS = {"percent": 1.0, "percentage": 1.0, "pct": 1.0, "%": 1.0, "ratio": 100.0, "1": 100.0}
MAX_SERIES = 100_000
_LATENCY_WORDS = ("latency", "duration", "response_time", "responsetime", "request_time")
#: a latency of requests, not of garbage collection, queries or rule evaluation (which a service's
#: scrape also exposes as ``*_duration_seconds``)
_REQUEST_WORDS = ("request", "http", "rpc", "response", "handling", "handler")
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created", "_info")


class Buckets:
    """Observations of a histogram over an interval: ``counts[i]`` observations ≤ ``bounds[i]``
    (cumulative in ``le``, like Prometheus buckets), the last bound +Inf."""

    __slots__ = ("bounds", "counts")

    def __init__(self, bounds: tuple[float, ...], counts: list[float]) -> None:
        self.bounds = bounds
        self.counts = counts

    @property
    def total(self) -> float:
        return self.counts[-1] if self.counts else 0.0

    def __repr__(self) -> str:
        return f"Buckets({dict(zip(self.bounds, self.counts, strict=True))})"


class Ratio:
    """Requests without a 5xx and all requests over an interval (a window sums both)."""

    __slots__ = ("good", "total")

    def __init__(self, good: float, total: float) -> None:
        self.good = good
        self.total = total

    def __float__(self) -> float:
        return 100.0 * self.good / self.total if self.total else 100.0

    def __repr__(self) -> str:
        return f"Ratio({self.good}/{self.total})"


class WindowBuckets:
    """The :class:`Buckets` of one key in one window, summed per upper bound (``sum by (le)``)."""

    __slots__ = ("by_le",)

    def __init__(self) -> None:
        self.by_le: dict[float, float] = {}

    def add(self, b: Buckets) -> None:
        by_le = self.by_le
        for le, c in zip(b.bounds, b.counts, strict=True):
            by_le[le] = by_le.get(le, 0.0) + c

    @property
    def total(self) -> float:
        return self.by_le.get(INF, 0.0)

    def quantile(self, q: float) -> float | None:
        bounds = sorted(self.by_le)
        return bucket_quantile(q, bounds, [self.by_le[b] for b in bounds])


def bucket_quantile(q: float, bounds: list[float], counts: list[float]) -> float | None:
    """PromQL's ``histogram_quantile`` on cumulative ``counts`` per ascending upper bound: the last
    bound must be +Inf; counts that decrease (scrapes of different moments summed) are raised to
    the previous one; the quantile is interpolated linearly inside its bucket, the first bucket
    starting at 0 (unless its bound is ≤ 0); a quantile in the +Inf bucket is the highest finite
    bound. ``None`` where PromQL gives NaN (no observations, no +Inf bucket, fewer than 2 buckets)."""
    if not bounds or bounds[-1] != INF or len(bounds) < 2 or math.isnan(q):
        return None
    if q < 0:
        return -INF
    if q > 1:
        return INF
    cum = list(counts)
    for i in range(1, len(cum)):
        if cum[i] < cum[i - 1]:
            cum[i] = cum[i - 1]
    observations = cum[-1]
    if observations <= 0:
        return None
    rank = q * observations
    b = 0
    while b < len(cum) - 1 and cum[b] < rank:
        b += 1
    if b == len(cum) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], cum[b]
    if b > 0:
        start = bounds[b - 1]
        count -= cum[b - 1]
        rank -= cum[b - 1]
    return start + (end - start) * (rank / count) if count > 0 else end


# -- what a metric name means ---------------------------------------------------------------------
@dataclass(frozen=True)
class Mapping:
    """How samples of one metric become one sign input.

    ``kind``: ``gauge`` (the value, scaled), ``counter`` (increases → availability by status and
    request rate), ``histogram`` (bucket increases → latency; with a status label also availability
    and rate), ``summary`` (the preferred quantile series as a latency gauge). ``scale`` turns the
    value into the input's unit; ``percent`` for availability gauges: ``None`` when the name does not
    say (a metric that ever exceeds 1 is percent, else a 0-1 ratio)."""

    input: str
    kind: str = "gauge"
    scale: float = 1.0
    percent: bool | None = None
    origin: str = "convention"
    labels: tuple[tuple[str, str], ...] = ()
    service: str | None = None

    def describe(self) -> str:
        unit = f" ×{self.scale:g}" if self.scale != 1.0 else ""
        return f"{self.kind} → {self.input}{unit} ({self.origin})"


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[_.:\-]+", name.lower()) if t]


def _time_scale(tokens: list[str], unit: str | None = None) -> float | None:
    if unit:
        u = unit.strip().lower()
        if u in UNITS:
            return UNITS[u]
    for t in reversed(tokens):
        if t in UNITS:
            return UNITS[t]
    return None


def _is_latency(low: str, timed: bool = False) -> bool:
    """A latency of the requests a service serves: ``latency``, ``response_time``; or ``duration``
    (or, ``timed``, a time unit: Micrometer's ``http_server_requests_seconds``, go-grpc's
    ``grpc_server_handling_seconds``) with a request word. Not a client's latency (calls it makes)."""
    if "client" in low:
        return False
    if any(w in low for w in _LATENCY_WORDS if w != "duration"):
        return True
    return any(w in low for w in _REQUEST_WORDS) and (timed or "duration" in low)


def convention(name: str, unit: str | None = None, otel_kind: str | None = None) -> Mapping | str | None:
    """The mapping the naming conventions give ``name`` (and an OpenTelemetry ``unit``/kind); a
    string says why a metric that looks like a sign input cannot be read; ``None``: not one of them.
    Decided by the name alone (cached per name): a counter reads availability from the samples that
    carry a status label, a latency gauge with a ``quantile`` label is a summary."""
    low = name.lower()
    if low in INPUTS:
        return Mapping(low, percent=None if low == "availability" else False, origin="its name")
    tokens = _tokens(low)
    if otel_kind == "histogram" or low.endswith("_bucket"):
        if otel_kind != "histogram":
            low = low[: -len("_bucket")]
            tokens = tokens[:-1]
        scale = _time_scale(tokens, unit)
        if not _is_latency(low, scale is not None):
            return None
        if scale is None:
            return "a latency histogram without a unit in its name (map it in .cnsec.yaml detect.metrics)"
        return Mapping("latency_ms", "histogram", scale)
    if otel_kind == "sum" or low.endswith("_total") or (low.endswith("_count") and _is_latency(low, True)):
        if ("request" in low or _is_latency(low, True)) and "bytes" not in low:
            return Mapping("availability", "counter")
        return None
    if low.endswith(_COUNTER_SUFFIXES):
        return None
    if "availability" in tokens or ("success" in tokens and ({"ratio", "rate", "percent", "pct"} & set(tokens))):
        for t in reversed(tokens):
            if t in PERCENT_UNITS:
                return Mapping("availability", scale=PERCENT_UNITS[t], percent=True)
        if unit and unit.strip() in PERCENT_UNITS:
            return Mapping("availability", scale=PERCENT_UNITS[unit.strip()], percent=True)
        return Mapping("availability", percent=None)
    if "request" in low and ({"rps", "qps"} & set(tokens) or "per_second" in low or "per_minute" in low
                             or any(t.startswith("rate") for t in tokens)):
        return Mapping("request_rate", scale=1 / 60.0 if "per_minute" in low else 1.0)
    if _is_latency(low):
        for t in tokens:
            if t in ("p50", "median", "min", "p25", "p10", "p75"):
                return f"a {t} latency (the signs judge high percentiles; map it in .cnsec.yaml to read it)"
        scale = _time_scale(tokens, unit)
        if scale is None:
            return "a latency gauge without a unit in its name (map it in .cnsec.yaml detect.metrics)"
        return Mapping("latency_ms", scale=scale)
    return None


# -- .cnsec.yaml ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfiguredMapping:
    """A ``detect.metrics`` entry: a metric name (glob) and labels → a sign input with a unit."""

    pattern: str
    labels: tuple[tuple[str, str], ...]
    mapping: Mapping

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.pattern)


KINDS = ("gauge", "counter", "histogram", "summary")


def parse_mappings(raw: Any, path: str) -> list[ConfiguredMapping]:
    """``detect.metrics`` of a ``.cnsec.yaml`` document::

        detect:
          metrics:
            - metric: checkout_p95_latency      # name, or a glob (checkout_*_latency)
              labels: {env: prod}               # optional: only these series
              input: latency_ms                 # latency_ms | availability | request_rate | any name
              unit: s                           # s, ms, us (latency); ratio or percent (availability)
              type: gauge                       # gauge (default), counter, histogram, summary
              service: app                      # optional: the label naming the service
    """
    if raw is None:
        return []
    section = raw.get("detect") if isinstance(raw, dict) else None
    if section is None:
        return []
    if not isinstance(section, dict):
        raise ConfigError("detect: must be a mapping", Source(path))
    entries = section.get("metrics")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError("detect.metrics must be a list of mappings", Source(path))
    out = []
    for i, e in enumerate(entries, 1):
        where = f"detect.metrics entry {i}"
        if not isinstance(e, dict) or not isinstance(e.get("metric"), str) or not isinstance(e.get("input"), str):
            raise ConfigError(f"{where} needs 'metric' (a name or glob) and 'input' (the sign input)",
                              Source(path))
        kind = str(e.get("type", "gauge"))
        if kind not in KINDS:
            raise ConfigError(f"{where}: type must be one of {', '.join(KINDS)}", Source(path))
        inp = e["input"]
        unit = e.get("unit")
        scale = 1.0
        percent: bool | None = False
        if unit is not None:
            u = str(unit).strip().lower()
            if inp == "availability" and u in PERCENT_UNITS:
                scale, percent = PERCENT_UNITS[u], True
            elif inp == "latency_ms" and u in UNITS:
                scale = UNITS[u]
            elif inp not in INPUTS:
                try:
                    scale = float(u)
                except ValueError:
                    raise ConfigError(f"{where}: unit of a custom input must be a number (a factor)",
                                      Source(path)) from None
            else:
                raise ConfigError(f"{where}: unit {unit!r} does not fit {inp} (latency_ms: s, ms, us; "
                                  f"availability: ratio, percent)", Source(path))
        elif inp == "latency_ms":
            raise ConfigError(f"{where}: latency_ms needs a unit (s, ms or us)", Source(path))
        elif inp == "availability":
            percent = None
        labels = e.get("labels") or {}
        if not isinstance(labels, dict):
            raise ConfigError(f"{where}: labels must be a mapping", Source(path))
        service = e.get("service")
        out.append(ConfiguredMapping(
            e["metric"], tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            Mapping(inp, kind, scale, percent, origin=f"{path} {where}",
                    service=str(service) if service is not None else None)))
    return out


def load_mappings(path: str | None, targets: Sequence[str] = ()) -> list[ConfiguredMapping]:
    """The mappings of ``path`` (``--config``), or of the ``.cnsec.yaml`` found from the inputs (or
    the current directory) upwards; a broken file is a :class:`~cnsec.errors.ConfigError` (exit 2)."""
    from cnsec.config_file import display, locate, read_document
    from cnsec.yamlsafe import shape_problem

    found = locate(targets, path)
    if found is None:
        return []
    path = path or display(found)
    raw = read_document(str(found))
    problem = shape_problem(raw)
    if problem is not None:
        raise ConfigError(f"the configuration {problem}", Source(path))
    return parse_mappings(raw, path)


# -- the reader ----------------------------------------------------------------------------------
def _status_bad(v: Any) -> bool | None:
    """5xx → True, another status → False, no status → None."""
    if v is None:
        return None
    s = str(v).strip()
    return s[:1] == "5" if s[:1].isdigit() else None


@dataclass
class _Series:
    ts: float
    values: Any  # a counter's total, or a histogram's cumulative counts by bound
    start: float | None = None


#: metric names not read that a report names (per file, and per run)
MAX_UNREAD = 50


@dataclass(slots=True)
class Sample:
    """One metric sample (a histogram sample carries all its buckets in ``value``)."""

    ts: float
    name: str
    labels: dict[str, Any]
    value: Any
    unit: str | None = None
    otel: str | None = None  # the OpenTelemetry kind: gauge, sum, histogram
    delta: bool = False  # OpenTelemetry delta temporality: the value is already the increase
    start: float | None = None  # OpenTelemetry start time (a new start is a reset)


@dataclass
class MetricReader:
    """Metric samples of one file → records, with the per-series state counters and histograms need.

    Samples of one timestamp are taken together (a scrape: all ``le`` buckets of a histogram, all
    status codes of a counter), so a file must be in time order per series (a scrape after another,
    as exposition snapshots and sorted query results are). ``unread`` collects metric names that look
    like sign inputs but cannot be read, with the reason."""

    mappings: list[ConfiguredMapping] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)
    mapped: dict[str, str] = field(default_factory=dict)
    _cache: dict[tuple[str, str | None, str | None], Mapping | None] = field(default_factory=dict)
    _series: dict[tuple[Any, ...], _Series] = field(default_factory=dict)
    _percent: dict[str, bool] = field(default_factory=dict)
    _group: list[tuple[Sample, Mapping]] = field(default_factory=list)
    _group_ts: float = -INF
    _sets: dict[int, _LabelSet] = field(default_factory=dict)
    _plain: dict[str, Any] = field(default_factory=dict)
    _scaled: dict[tuple[tuple[float, ...], float], tuple[float, ...]] = field(default_factory=dict)
    series_dropped: int = 0
    #: samples not read of metrics beyond the first MAX_UNREAD named in ``unread``
    unread_more: int = 0

    def mapping(self, s: Sample) -> Mapping | None:
        key = (s.name, s.unit, s.otel)
        try:
            return self._cache[key]
        except KeyError:
            pass
        m: Mapping | str | None = None
        for c in self.mappings:
            if c.matches(s.name):
                m = c.mapping
                if c.labels:
                    m = Mapping(m.input, m.kind, m.scale, m.percent, m.origin, c.labels, m.service)
                break
        if m is None:
            base = s.name[:-len("_bucket")] if s.name.endswith("_bucket") else s.name
            for c in self.mappings:
                if base != s.name and c.matches(base) and c.mapping.kind == "histogram":
                    m = c.mapping
                    break
        if m is None:
            m = convention(s.name, s.unit, s.otel)
        if isinstance(m, str):
            self._unreadable(s.name, m)
            m = None
        elif m is not None and len(self.mapped) < 200:
            self.mapped.setdefault(s.name, m.describe())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = m
        return m

    def plain(self, ts: float, name: str, labels: dict[str, Any], v: float) -> Record | None:
        """The record of a plain sample line (a gauge, or a metric of no convention) without the
        general path's allocations; ``None`` when the sample needs :meth:`feed` (a counter, a
        histogram, a summary, a label-filtered mapping, a scrape still open)."""
        if self._group:
            return None
        m = self._plain.get(name, self)
        if m is self:
            m = self._plain[name] = self.mapping(Sample(ts, name, labels, v))
            if len(self._plain) > 10_000:
                self._plain.clear()
        if m is None:
            return _record(ts, name, name, labels, float(v), None)
        if m.kind != "gauge" or m.labels or v != v or (m.input == "latency_ms" and "quantile" in labels):
            return None
        return _record(ts, m.input, name, labels, self._gauge(m, name, v), m.service)

    def feed(self, s: Sample) -> list[Record]:
        """Records ready after ``s`` (a scrape is complete when a later timestamp arrives)."""
        out: list[Record] = []
        if s.ts != self._group_ts and self._group:
            out = self.flush()
        if s.otel == "exponentialHistogram" or s.otel == "summary":
            self._unreadable(s.name, f"an OpenTelemetry {s.otel} (not read: export explicit-bucket histograms)")
            return out
        m = self.mapping(s)
        if m is not None and m.labels and any(str(s.labels.get(k)) != v for k, v in m.labels):
            m = None
        if m is None:
            v = s.value
            if v.__class__ is float or v.__class__ is int:
                out.append(_record(s.ts, s.name, s.name, s.labels, float(v), None))
            return out
        if m.kind == "gauge" and not (m.input == "latency_ms" and "quantile" in s.labels):
            v = _number(s.value)
            if v is not None and v == v:  # NaN: no value (an empty summary, a stale series)
                out.append(_record(s.ts, m.input, s.name, s.labels, self._gauge(m, s.name, v), m.service))
            return out
        self._group_ts = s.ts
        self._group.append((s, m))
        return out

    def _gauge(self, m: Mapping, name: str, v: float) -> float:
        if m.input == "availability" and m.percent is None:
            percent = self._percent.get(name, False)
            if not percent and v > 1.0:
                if len(self._percent) >= 10_000:
                    self._percent.clear()
                percent = self._percent[name] = True
            return v if percent else v * 100.0
        return v * m.scale

    def labels_of(self, labels: dict[str, Any]) -> _LabelSet:
        """What the reader derives from a label set, once per set: label sets repeat every scrape (and
        the parsers share one dict per set), so they are remembered by identity, the dict kept alive
        with its entry so the identity cannot be reused."""
        entry = self._sets.get(id(labels))
        if entry is not None and entry.labels is labels:
            return entry
        if len(self._sets) >= 65_536:
            self._sets.clear()
        entry = self._sets[id(labels)] = _LabelSet(labels)
        return entry

    def flush(self) -> list[Record]:
        """Close the current scrape: counters and histograms become increases, summaries their
        preferred quantile, request rates one per service."""
        group, self._group = self._group, []
        out: list[Record] = []
        if not group:
            return out
        hists: dict[tuple[Any, ...], tuple[Sample, Mapping, dict[float, float]]] = {}
        summaries: dict[tuple[Any, ...], list[tuple[float, Sample, Mapping]]] = {}
        requests = _Requests()
        labels_of = self.labels_of
        for s, m in group:
            ls = labels_of(s.labels)
            if m.kind == "histogram" and s.otel is None:
                if ls.le is None:
                    continue
                key = (s.name, ls.key_without_le)
                entry = hists.get(key)
                if entry is None:
                    base = s.name[:-len("_bucket")] if s.name.endswith("_bucket") else s.name
                    entry = hists[key] = (Sample(s.ts, base, ls.without_le, None, s.unit), m, {})
                v = _number(s.value)
                if v is not None:
                    entry[2][ls.le] = v
            elif m.kind == "histogram":
                hists[(s.name, ls.key)] = (s, m, s.value)
            elif m.kind == "summary" or m.kind == "gauge":
                if ls.quantile is not None:
                    summaries.setdefault((s.name, ls.key_without_le), []).append((ls.quantile, s, m))
            else:
                self._counter(s, m, ls, requests)
        for (_name, lkey), (s, m, by_le) in hists.items():
            self._histogram(lkey, s, m, by_le, out, requests)
        for qs in summaries.values():
            qv, s, m = min(qs, key=lambda t: (_QUANTILE_PREFERENCE.get(t[0], 9), -t[0]))
            v = _number(s.value)
            if v is not None and not math.isnan(v) and _QUANTILE_PREFERENCE.get(qv, 9) < 9:
                labels = {k: x for k, x in s.labels.items() if k != "quantile"}
                out.append(_record(s.ts, m.input, s.name, labels, v * m.scale, m.service))
        out.extend(requests.records(group[-1][0].ts))
        return out

    def _state(self, key: tuple[Any, ...]) -> _Series | None:
        st = self._series.get(key)
        if st is None and len(self._series) >= MAX_SERIES:
            self.series_dropped += 1
        return st

    def _counter(self, s: Sample, m: Mapping, ls: _LabelSet, requests: _Requests) -> None:
        """A request counter's increase since its previous sample (a decrease, or a new OpenTelemetry
        start time, is a reset: the value is then the increase; the first sample has none)."""
        v = _number(s.value)
        if v is None:
            return
        if s.delta:
            inc = v
            dt = (s.ts - s.start) if s.start is not None and s.ts > s.start else None
        else:
            key = (s.name, ls.key)
            st = self._state(key)
            if st is None:
                if len(self._series) < MAX_SERIES:
                    self._series[key] = _Series(s.ts, v, s.start)
                return
            if s.ts <= st.ts:
                return
            reset = v < st.values or (s.start is not None and st.start is not None and s.start != st.start)
            inc = v if reset else v - st.values
            dt = s.ts - st.ts
            st.ts, st.values, st.start = s.ts, v, s.start
        requests.add(s, ls, m.service, 2 if s.name.endswith("_count") else 0, inc, dt)

    def _unreadable(self, name: str, why: str) -> None:
        """Name a metric that could not be read (the first MAX_UNREAD names; samples of further ones
        are counted, so the report still says they were there)."""
        if name in self.unread:
            return
        if len(self.unread) < MAX_UNREAD:
            self.unread[name] = why
        else:
            self.unread_more += 1

    def _histogram(self, lkey: tuple[Any, ...], s: Sample, m: Mapping, by_le: dict[float, float],
                   out: list[Record], requests: _Requests) -> None:
        if INF not in by_le:
            self._unreadable(s.name, "a histogram without its +Inf bucket")
            return
        bounds = tuple(sorted(by_le))
        cum = [by_le[b] for b in bounds]
        if s.delta:
            inc = cum
            dt = (s.ts - s.start) if s.start is not None and s.ts > s.start else None
        else:
            key = ("h", s.name, lkey)
            st = self._state(key)
            if st is None:
                if len(self._series) < MAX_SERIES:
                    self._series[key] = _Series(s.ts, (bounds, cum), s.start)
                return
            if s.ts <= st.ts:
                return
            old_bounds, old = st.values
            reset = (old_bounds != bounds or cum[-1] < old[-1]
                     or (s.start is not None and st.start is not None and s.start != st.start))
            inc = cum if reset else [max(0.0, c - o) for c, o in zip(cum, old, strict=True)]
            dt = s.ts - st.ts
            st.ts, st.values, st.start = s.ts, (bounds, cum), s.start
        if inc[-1] <= 0:
            return
        scaled = self._scaled.get((bounds, m.scale))
        if scaled is None:
            scaled = self._scaled[(bounds, m.scale)] = tuple(b * m.scale if b != INF else INF for b in bounds)
        ls = self.labels_of(s.labels)
        out.append(_record(s.ts, "latency_ms", s.name, ls.without_status, Buckets(scaled, inc), m.service))
        requests.add(s, ls, m.service, 1, inc[-1], dt)


class _LabelSet:
    """One label set and what the reader derives from it."""

    __slots__ = ("bad", "key", "key_without_le", "labels", "le", "quantile", "service", "without_le",
                 "without_status")

    def __init__(self, labels: dict[str, Any]) -> None:
        self.labels = labels
        self.key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        self.le = _number(labels.get("le"))
        self.quantile = _number(labels.get("quantile"))
        self.without_le = {k: v for k, v in labels.items() if k != "le" and k != "quantile"}
        self.key_without_le = tuple(kv for kv in self.key if kv[0] != "le" and kv[0] != "quantile")
        self.bad: bool | None = None  # 5xx: True, another status: False, no status label: None
        for lab in STATUS_LABELS:
            if lab in labels:
                self.bad = _status_bad(labels[lab])
                break
        self.without_status = {k: v for k, v in self.without_le.items() if k not in STATUS_LABELS}
        self.service = _service(labels, None)


class _Requests:
    """The requests of one scrape per service, from the best source it has: request counters before a
    histogram's buckets before a ``_count`` (they count the same requests; summing them would count
    each request two or three times). Each source gives the rate, and (with a status label) the
    requests without a 5xx as :class:`Ratio` records."""

    def __init__(self) -> None:
        self.by_service: dict[str, tuple[int, list[float], list[Record]]] = {}

    def add(self, s: Sample, ls: _LabelSet, service_label: str | None, priority: int, inc: float | None,
            dt: float | None) -> None:
        if not inc or inc <= 0:
            return
        svc = ls.service if service_label is None else _service(s.labels, service_label)
        cur = self.by_service.get(svc)
        if cur is None or priority < cur[0]:
            cur = self.by_service[svc] = (priority, [0.0], [])
        elif priority > cur[0]:
            return
        if dt:
            cur[1][0] += inc / dt
        if ls.bad is not None:
            cur[2].append(_record(s.ts, "availability", s.name, ls.without_status,
                                  Ratio(0.0 if ls.bad else inc, inc), service_label))

    def records(self, ts: float) -> list[Record]:
        out: list[Record] = []
        for svc, (_prio, rate, ratios) in sorted(self.by_service.items()):
            out.extend(ratios)
            if rate[0]:
                out.append(_record(ts, "request_rate", "request_rate", {"service": svc}, rate[0], None))
        return out


_QUANTILE_PREFERENCE = {0.95: 0, 0.99: 1, 0.9: 2, 0.999: 3}


def _number(v: Any) -> float | None:
    if v.__class__ is float:
        return float(v)
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _service(labels: dict[str, Any], label: str | None) -> str:
    if label is not None:
        v = labels.get(label)
        return str(v) if v is not None else "-"
    for k in SERVICE_LABELS:
        v = labels.get(k)
        if v is not None and v != "":
            return str(v)
    return "-"


def _record(ts: float, field_name: str, metric: str, labels: dict[str, Any], value: Any,
            service_label: str | None) -> Record:
    rec: Record = {}
    for k, v in labels.items():
        if v.__class__ is str or v.__class__ is int or v.__class__ is float:
            rec[k] = v  # nested label values are not labels
    if "service" not in rec or service_label is not None:
        svc = _service(labels, service_label)
        if svc != "-":
            rec["service"] = svc
    if metric != field_name:
        rec["metric"] = metric
    rec[field_name] = value
    rec["__name__"] = field_name
    rec["_ts"] = ts
    rec["_kind"] = "metric"
    return rec
