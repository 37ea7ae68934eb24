"""Inputs for correlation: every file becomes a time-ordered stream of flat *records*.

Kinds, detected from the content of each file:

* ``metric``: JSON lines ``{"timestamp", "name", "labels", "value"}``, Prometheus text exposition
  snapshots, Prometheus HTTP API responses (instant vectors, ``query_range`` matrices, also spanning
  lines) and OTLP/JSON exports; :mod:`cnsec.detect.correlate.metrics` turns their samples into the
  sign inputs (latency, availability, request rate) by name, unit and type;
* ``access``: common/combined log format (with an optional trailing request time) and JSON access logs
  (nginx and Envoy field names);
* ``iam``: the cnsec IAM audit log (``cnsec iam log -f json``: logins and administration);
* ``event``: anything the detection engine reads (Kubernetes audit, CloudTrail, GCP, Falco): its rule
  matches are the records, so engine rules are signs;
* ``app``: any other JSON lines with a timestamp (flattened fields, e.g. ``rows_returned``).

Records are plain dicts (``_ts`` epoch seconds, ``_kind``) so the hot loop allocates little. Each file is
put in event-time order with a bounded reorder buffer (``lateness``); files are then merged by time, so
the result does not depend on how input is split. Malformed lines are counted with their line number.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote_plus

from cnsec.detect.correlate.metrics import MAX_SERIES, MAX_UNREAD, ConfiguredMapping, MetricReader, Sample
from cnsec.detect.normalize import parse_time
from cnsec.detect.sources import MAX_PROBLEMS, Chunk, ReadStats
from cnsec.model.finding import InputProblem

Record = dict[str, Any]
Item = tuple[float, bytes, int, Record]
#: (tiebreak, record) of one file; the generator returns how many it yielded
Pairs = Generator[tuple[bytes, Record], None, int]


@dataclass
class Stats(ReadStats):
    """The engine's read statistics plus records that came later than the allowed lateness, records
    per input kind, inputs that could not be read (wholly, or from some point on) and metrics that
    look like sign inputs but could not be read."""

    late: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unread_metrics: dict[str, str] = field(default_factory=dict)

    def fail(self, file: str, line: int | None, message: str) -> None:
        """An input lost (missing, unreadable, of no known format): always reported, the run goes on
        and ends with exit code 2."""
        self.failed.setdefault(file, message)
        self.problems.append(InputProblem(file, line, message))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "late": sum(self.late.values()), "inputs_failed": len(self.failed),
                "records_by_kind": dict(sorted(self.kinds.items())),
                "metrics_not_read": dict(sorted(self.unread_metrics.items()))}

_seq = itertools.count()

_CLF = re.compile(
    rb'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\S+)'
    rb'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(?: (\d+(?:\.\d+)?))?')
_PROM = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))'
                   r'(?:\s+(-?\d+))?\s*$')
_PROM_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def clf_time(text: str) -> float | None:
    """``10/Oct/2000:13:55:36 -0700`` → epoch seconds."""
    try:
        day, mon, rest = text.split("/", 2)
        year, hh, mm, rest2 = rest.split(":", 3)
        ss, _, zone = rest2.partition(" ")
        secs = (_days_from_civil(int(year), _MONTHS[mon], int(day)) * 86400
                + int(hh) * 3600 + int(mm) * 60 + float(ss))
        if zone:
            sign = -1 if zone[0] == "-" else 1
            z = zone.lstrip("+-")
            secs -= sign * (int(z[:2]) * 3600 + int(z[2:4]) * 60)
        return float(secs)
    except (ValueError, KeyError, IndexError):
        return None


_SECONDS: dict[str, float] = {}


def fast_time(value: Any) -> float | None:
    """RFC 3339 in UTC (``2026-01-01T09:00:00.123Z``) through a per-second cache; anything else (offsets,
    epoch numbers) through the engine's :func:`parse_time`."""
    if value.__class__ is str and len(value) >= 20 and value[-1] == "Z" and value[10] in "Tt ":
        base = _SECONDS.get(value[:19])
        if base is None:
            try:
                base = (_days_from_civil(int(value[0:4]), int(value[5:7]), int(value[8:10])) * 86400
                        + int(value[11:13]) * 3600 + int(value[14:16]) * 60 + int(value[17:19]))
            except ValueError:
                return parse_time(value)
            if len(_SECONDS) > 65536:
                _SECONDS.clear()
            _SECONDS[value[:19]] = base
        frac = value[19:-1]
        if not frac:
            return float(base)
        try:
            return base + float(frac[:10])
        except ValueError:
            return parse_time(value)
    return parse_time(value)


def _ip(text: Any) -> str | None:
    """``1.2.3.4:5678`` / ``[::1]:80`` / ``a, b`` (X-Forwarded-For: the first hop) → the address."""
    if text.__class__ is not str or not text or text == "-":
        return None
    if ":" not in text and "," not in text and " " not in text:
        return text
    t = text.split(",", 1)[0].strip()
    if t.startswith("["):
        return t[1:t.find("]")] if "]" in t else t
    if t.count(":") == 1:
        return t.split(":", 1)[0]
    return t


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _access(rec: Record, status: int, path: str | None) -> Record:
    rec["_kind"] = "access"
    rec["status"] = status
    rec["availability"] = 100.0 if status < 500 else 0.0
    if path is not None:
        rec["path"] = path
        rec["url"] = unquote_plus(path) if ("%" in path or "+" in path) else path
    return rec


def parse_clf(raw: bytes) -> Record | None:
    m = _CLF.match(raw)
    if m is None:
        return None
    host, _ident, user, when, request, status, size, referer, agent, rtime = m.groups()
    ts = clf_time(when.decode("ascii", "replace"))
    if ts is None:
        return None
    req = request.decode("utf-8", "replace").split(" ")
    rec: Record = {"_ts": ts, "src_ip": host.decode("utf-8", "replace"), "service": "-"}
    if user != b"-":
        rec["user"] = user.decode("utf-8", "replace")
    path = None
    if len(req) >= 2:
        rec["method"] = req[0]
        path = req[1]
    rec["bytes"] = int(size) if size.isdigit() else 0
    if referer is not None:
        rec["referer"] = referer.decode("utf-8", "replace")
        rec["user_agent"] = agent.decode("utf-8", "replace")
    if rtime is not None:
        rec["latency_ms"] = float(rtime) * 1000.0
    return _access(rec, int(status), path)


_IP_KEYS = ("src_ip", "x_forwarded_for", "remote_addr", "client_ip", "downstream_remote_address")
_EXTRA = ("rows_returned", "pod", "namespace", "query")
_ACCESS_TIME = ("time_iso8601", "timestamp", "@timestamp", "start_time", "time", "ts", "time_local")


def access_from_json(d: dict[str, Any]) -> Record | None:
    get = d.get
    ts = None
    for k in _ACCESS_TIME:
        v = get(k)
        if v is not None:
            ts = clf_time(v) if k == "time_local" and isinstance(v, str) else fast_time(v)
            if ts is not None:
                break
    status = get("status")
    if status is None:
        status = get("response_code")
    if status.__class__ is not int:
        status = _num(status)
        if status is None:
            return None
    if ts is None:
        return None
    rec: Record = {"_ts": ts}
    for k in _IP_KEYS:
        v = get(k)
        if v is not None:
            ip = _ip(v)
            if ip:
                rec["src_ip"] = ip
                break
    user = get("user") or get("remote_user") or get("username")
    if user.__class__ is str and user and user != "-":
        rec["user"] = user
    method: Any
    path: Any
    req = get("request")
    if req.__class__ is str and " " in req:  # nginx: "GET /path HTTP/1.1"
        parts = req.split(" ")
        method, path = parts[0], parts[1]
    else:
        method = get("method") or get("request_method")
        path = get("path") or get("request_uri") or get("uri") or get("x-envoy-original-path")
    if method.__class__ is str:
        rec["method"] = method
    size = get("body_bytes_sent")
    if size is None:
        size = get("bytes_sent", get("bytes"))
    if size.__class__ is not int:
        size = _num(size)
    rec["bytes"] = size if size is not None else 0
    rt = get("request_time")
    if rt is not None:
        rt = _num(rt)
        if rt is not None:
            rec["latency_ms"] = rt * 1000.0
    else:
        lat = get("latency_ms", get("duration"))  # Envoy's duration: milliseconds
        if lat is not None:
            lat = _num(lat)
            if lat is not None:
                rec["latency_ms"] = lat
    svc = get("service") or get("host") or get("upstream_cluster") or get("authority") or get("server_name")
    rec["service"] = svc if svc.__class__ is str and svc else "-"
    ua = get("http_user_agent") or get("user_agent")
    if ua.__class__ is str:
        rec["user_agent"] = ua
    for k in _EXTRA:
        if k in d:
            rec[k] = d[k]
    return _access(rec, int(status), path if path.__class__ is str else None)


def _labels(m: Any) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k != "__name__"} if m.__class__ is dict else {}


def json_samples(d: dict[str, Any]) -> list[Sample] | None:
    """The metric samples of one JSON object: a sample line ``{"timestamp", "name", "labels", "value"}``;
    a Prometheus query result element (``{"metric", "value": [ts, "v"]}`` or ``"values"``: a range
    query's matrix); a whole Prometheus API response (``{"status", "data": {"result": […]}}``); an
    OTLP/JSON export (``{"resourceMetrics": […]}``). ``None``: not a metric object."""
    get = d.get
    if "resourceMetrics" in d:
        return otlp_samples(d)
    data = get("data")
    if data.__class__ is dict and "result" in data:
        out: list[Sample] = []
        for el in data.get("result") or ():
            if el.__class__ is dict:
                out.extend(json_samples(el) or ())
        return out
    m = get("metric")
    if m.__class__ is dict:
        name = m.get("__name__")
        if name.__class__ is not str or not name:
            return None
        labels = _labels(m)
        points = get("values")
        if points.__class__ is not list:
            points = [get("value")]
        out = []
        for pt in points:
            if pt.__class__ is not list or len(pt) != 2:
                return None
            ts, v = parse_time(pt[0]), _num(pt[1])
            if ts is None or v is None:
                return None
            out.append(Sample(ts, name, labels, v))
        return out
    line = _sample_line(d)
    return None if line is None else [Sample(*line)]


def _sample_line(d: dict[str, Any]) -> tuple[float, str, dict[str, Any], float] | None:
    """(time, name, labels, value) of a sample line ``{"timestamp", "name", "labels", "value"}``."""
    get = d.get
    value: Any = get("value")
    name = get("name")
    raw_ts = get("timestamp")
    if raw_ts is None:
        raw_ts = get("ts") or get("time")
    ts = fast_time(raw_ts)
    v = value if (value.__class__ is float or value.__class__ is int) else _num(value)
    if name.__class__ is not str or not name or v is None or ts is None:
        return None
    raw_labels = get("labels")
    return ts, name, raw_labels if raw_labels.__class__ is dict else {}, v


def _otlp_value(v: Any) -> Any:
    if v.__class__ is not dict:
        return None
    for k in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if k in v:
            x = v[k]
            return int(x) if k == "intValue" and x.__class__ is str and x.lstrip("-").isdigit() else x
    return None


def _otlp_attrs(attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attrs.__class__ is list:
        for a in attrs:
            if a.__class__ is dict and a.get("key").__class__ is str:
                v = _otlp_value(a.get("value"))
                if v is not None:
                    out[a["key"]] = v
    return out


def _nanos(v: Any) -> float | None:
    n = _num(v)
    return n / 1e9 if n is not None and n > 0 else None


OTLP_DELTA = (1, "1", "AGGREGATION_TEMPORALITY_DELTA")


def otlp_samples(doc: dict[str, Any]) -> list[Sample]:
    """OTLP/JSON metrics (``resourceMetrics`` → ``scopeMetrics`` → ``metrics``): gauge, sum and
    histogram data points; resource attributes (``service.name``) join each point's attributes.
    Exponential histograms and summaries are not read (their names are reported)."""
    out: list[Sample] = []
    for rm in doc.get("resourceMetrics") or ():
        if rm.__class__ is not dict:
            continue
        res = _otlp_attrs((rm.get("resource") or {}).get("attributes"))
        for sm in rm.get("scopeMetrics") or rm.get("instrumentationLibraryMetrics") or ():
            for m in (sm.get("metrics") or ()) if sm.__class__ is dict else ():
                if m.__class__ is not dict or m.get("name").__class__ is not str:
                    continue
                name, unit = m["name"], m.get("unit")
                for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                    body = m.get(kind)
                    if body.__class__ is dict:
                        break
                else:
                    continue
                delta = body.get("aggregationTemporality") in OTLP_DELTA
                otel = "gauge" if kind == "sum" and not body.get("isMonotonic") else kind
                for dp in body.get("dataPoints") or ():
                    ts = _nanos(dp.get("timeUnixNano")) if dp.__class__ is dict else None
                    if ts is None:
                        continue
                    labels = {**res, **_otlp_attrs(dp.get("attributes"))}
                    start = _nanos(dp.get("startTimeUnixNano"))
                    value: Any
                    if kind == "histogram":
                        bounds = dp.get("explicitBounds") or []
                        counts = [_num(c) or 0.0 for c in dp.get("bucketCounts") or ()]
                        if len(counts) != len(bounds) + 1:
                            continue
                        value, acc = {}, 0.0
                        for b, c in zip([*map(float, bounds), math.inf], counts, strict=True):
                            acc += c
                            value[b] = acc
                    elif kind in ("gauge", "sum"):
                        value = _num(dp.get("asDouble", dp.get("asInt")))
                        if value is None:
                            continue
                    else:
                        value = None  # reported by the reader as not readable
                    out.append(Sample(ts, name, labels, value, unit, otel, delta, start))
    return out


def parse_prom_line(line: str) -> Sample | None:
    """One sample line of the Prometheus text exposition format (the timestamp, in milliseconds, is
    optional: ``None`` then)."""
    m = _PROM.match(line)
    if m is None:
        return None
    name, labels_text, value, ts_ms = m.groups()
    v = _num(value)
    if v is None:
        return None
    labels = _prom_labels(labels_text or "")
    return Sample(int(ts_ms) / 1000.0 if ts_ms else math.nan, name, labels, v)


_LABEL_SETS: dict[str, dict[str, str]] = {}
_ESCAPE = re.compile(r"\\(.)")


def _prom_labels(text: str) -> dict[str, str]:
    """The labels of ``{…}``; a scrape repeats the same label sets every time, so they are parsed once
    (the dict is shared: readers never change it)."""
    labels = _LABEL_SETS.get(text)
    if labels is None:
        labels = {k: _ESCAPE.sub(r"\1", val) if "\\" in val else val for k, val in _PROM_LABEL.findall(text)}
        if len(_LABEL_SETS) >= 65536:
            _LABEL_SETS.clear()
        _LABEL_SETS[text] = labels
    return labels


def iam_from_json(d: dict[str, Any]) -> Record | None:
    ts = fast_time(d.get("ts", d.get("timestamp")))
    if ts is None:
        return None
    rec: Record = {"_ts": ts, "_kind": "iam", "event": d.get("event"), "outcome": d.get("outcome"),
                   "user": d.get("subject"), "actor": d.get("actor")}
    src = d.get("source")
    if isinstance(src, str) and src:
        rec["src_ip"] = src
    return rec


def _flatten(d: dict[str, Any], out: Record, prefix: str = "", depth: int = 0) -> None:
    for k, v in d.items():
        if isinstance(v, dict) and depth < 2:
            _flatten(v, out, f"{prefix}{k}.", depth + 1)
        elif isinstance(v, str | int | float | bool) or v is None:
            out[prefix + k] = v


def app_from_json(d: dict[str, Any]) -> Record | None:
    ts = None
    for k in ("timestamp", "@timestamp", "time", "ts", "eventTime"):
        if k in d:
            ts = fast_time(d[k])
            if ts is not None:
                break
    if ts is None:
        return None
    rec: Record = {}
    _flatten(d, rec)
    for alias in ("username", "user_name", "user.name"):
        if "user" not in rec and isinstance(rec.get(alias), str):
            rec["user"] = rec[alias]
    for alias in ("client_ip", "remote_addr", "source_ip", "ip"):
        if "src_ip" not in rec and isinstance(rec.get(alias), str):
            rec["src_ip"] = _ip(rec[alias])
    rec["_ts"] = ts
    rec["_kind"] = "app"
    return rec


def sniff_json(d: dict[str, Any]) -> str:
    if ((("value" in d or "values" in d) and ("name" in d or isinstance(d.get("metric"), dict)))
            or "resourceMetrics" in d or (isinstance(d.get("data"), dict) and "result" in d["data"])):
        return "metric"
    if ("status" in d or "response_code" in d) and any(
            k in d for k in ("request", "path", "uri", "request_uri", "method", "request_method")):
        return "access"
    if "event" in d and "outcome" in d and "subject" in d:
        return "iam"
    from cnsec.detect.sources import sniff_source

    src = sniff_source(d)
    return "event" if src != "json" else "app"


def sniff_text(line: bytes) -> str | None:
    s = line.strip()
    if s.startswith(b"{") or s.startswith(b"["):
        return "json"
    if s.startswith(b"# HELP") or s.startswith(b"# TYPE") or _PROM.match(s.decode("utf-8", "replace")):
        return "prometheus"
    if _CLF.match(s):
        return "clf"
    return None


JSON_PARSERS: dict[str, Callable[[dict[str, Any]], Record | None]] = {
    "access": access_from_json, "iam": iam_from_json, "app": app_from_json,
}


class EngineBridge:
    """Runs the detection engine line by line so its rule matches join the time-ordered merge."""

    def __init__(self, rules: list[Any]) -> None:
        from cnsec.detect.engine import Engine

        self.engine = Engine(rules)
        self.rule_count = len(rules)

    def records(self, chunks: Iterable[Chunk], name: str, stats: Stats) -> Iterator[tuple[bytes, Record]]:
        from cnsec.detect.engine import Match
        from cnsec.detect.fields import first_text, make_getter
        from cnsec.detect.normalize import SOURCES, split_key_field

        source: str | None = None
        found: list[Match] = []
        getters: dict[str, list[tuple[str, Any]]] = {}
        labels = {"ip": "src_ip", "principal": "user"}
        es = self.engine.stats
        before = es.malformed
        lines0, events0 = es.lines, es.events
        first_problem = len(es.problems)
        for chunk in chunks:
            source = self.engine.scan_chunks([chunk], name, source, found.append) or source
            if not found:
                continue
            batch: list[tuple[bytes, Record]] = []
            for i, match in enumerate(found):
                ts = match.time()
                if ts is None:
                    stats.problem(name, chunk.line, f"rule {match.rule.id} matched an event without a time")
                    continue
                kind = SOURCES[match.source]
                specs = getters.get(match.source)
                if specs is None:
                    specs = [(labels.get(lab, lab), make_getter(path)) for lab, path in
                             (split_key_field(s) for s in kind.key_fields)]
                    getters[match.source] = specs
                rec: Record = {"_ts": ts, "_kind": "event", "rule": match.rule.id, "_data": match.data,
                               "_source": match.source, "_origin": match.origin}
                for label, get in specs:
                    if label not in rec:
                        t = first_text(match.data, get)
                        if t:
                            rec[label] = t
                tb = chunk.raw if len(found) == 1 else chunk.raw + b"\0" + str(i).encode()
                batch.append((tb + b"\0" + match.rule.id.encode(), rec))
            found.clear()
            if len(batch) > 1:  # a whole document (CloudTrail Records, EventList): its own order is arbitrary
                batch.sort(key=lambda pair: pair[1]["_ts"])
            yield from batch
        stats.malformed += es.malformed - before
        stats.lines += es.lines - lines0
        stats.events += es.events - events0
        stats.problems.extend(self.engine.stats.problems[first_problem:][: max(0, MAX_PROBLEMS - len(stats.problems))])


def file_records(lines: Iterable[tuple[int, bytes]], name: str, stats: Stats, bridge: EngineBridge | None,
                 mtime: float, mappings: list[ConfiguredMapping] | None = None) -> Iterator[tuple[bytes, Record]]:
    """(tiebreak, record) in file order from (line number, raw line); kind sniffed from the first line."""
    import orjson

    it = iter(lines)
    first: tuple[int, bytes] | None = None
    for numbered in it:
        if numbered[1].strip():
            first = numbered
            break
    if first is None:
        return
    kind = sniff_text(first[1])
    every: Iterable[tuple[int, bytes]] = itertools.chain([first], it)
    if kind == "prometheus":
        reader = MetricReader(mappings or [])
        _read(stats, "metric", (yield from _prom_records(every, name, stats, mtime, reader)), reader)
        return
    if kind == "clf":
        _read(stats, "access", (yield from _clf_records(every, name, stats)))
        return
    if kind is None:
        stats.fail(name, first[0], "unrecognised input (expected JSON lines, a Prometheus snapshot, a "
                                   "Prometheus or OTLP JSON document, or an access log)")
        return
    try:  # a document spread over lines comes whole as the first line (the shared line reader)
        obj = orjson.loads(first[1])
    except orjson.JSONDecodeError:
        obj = None
    sample = obj[0] if isinstance(obj, list) and obj else obj
    jkind = sniff_json(sample) if isinstance(sample, dict) else "event"
    if jkind == "event":
        if bridge is None:  # said, not silently dropped: the input may be meant for a sign that is not there
            stats.problems.append(InputProblem(name, None, "not read: audit events become records through "
                                                           "detection rules, and no sign names one"))
            return
        before = stats.events
        yield from bridge.records((Chunk(n, raw) for n, raw in every), name, stats)
        _read(stats, "event", stats.events - before)
        return
    if jkind == "metric":
        reader = MetricReader(mappings or [])
        _read(stats, "metric", (yield from _json_records(every, name, stats, jkind, reader)), reader)
        return
    _read(stats, jkind, (yield from _json_records(every, name, stats, jkind)))


def _read(stats: Stats, kind: str, n: int, reader: MetricReader | None = None) -> None:
    """Count the records of one file by kind (the signs without any input are reported), and keep
    the metric names that could not be read. (Each reader returns its count: no layer per record.)"""
    if n:
        stats.kinds[kind] = stats.kinds.get(kind, 0) + n
    if reader is not None:
        more = reader.unread_more
        for metric, why in reader.unread.items():
            if metric in stats.unread_metrics:
                continue
            if len(stats.unread_metrics) < MAX_UNREAD:
                stats.unread_metrics[metric] = why
            else:
                more += 1
        if more:
            stats.problems.append(InputProblem("-", None, f"more metrics not read than the {MAX_UNREAD} named "
                                                          f"({more} further samples or names)"))
        if reader.series_dropped:
            stats.problems.append(InputProblem("-", None, f"{reader.series_dropped} samples of series beyond "
                                                          f"the first {MAX_SERIES:,} not read"))


def _clf_records(every: Iterable[tuple[int, bytes]], name: str, stats: Stats) -> Pairs:
    count = 0
    for n, raw in every:
        stripped = raw.strip()
        if not stripped:
            continue
        stats.lines += 1
        rec = parse_clf(stripped)
        if rec is None:
            stats.problem(name, n, "not a common/combined log format line")
            continue
        count += 1
        yield raw, rec
    stats.events += count
    return count


def _prom_records(every: Iterable[tuple[int, bytes]], name: str, stats: Stats, mtime: float,
                  reader: MetricReader) -> Pairs:
    """A Prometheus text exposition file: one scrape, or scrapes one after another (samples carry
    their timestamps; those without take the file's modification time)."""
    raw = b""
    count = 0
    for n, raw in every:
        line = raw.decode("utf-8", "replace").strip()
        if not line or line.startswith("#"):
            continue
        stats.lines += 1
        smp = parse_prom_line(line)
        if smp is None:
            stats.problem(name, n, "not a Prometheus sample line")
            continue
        if smp.ts != smp.ts:  # NaN: no timestamp
            smp.ts = mtime
        stats.events += 1
        for rec in reader.feed(smp):
            count += 1
            yield raw, rec
    for rec in reader.flush():
        count += 1
        yield raw, rec
    return count


def _metric_records(objs: list[Any], n: int, name: str, stats: Stats, reader: MetricReader) -> list[Record]:
    """The records of JSON metric objects that are not plain gauge lines: counters and histograms
    (through the reader's state), Prometheus API responses and OTLP exports (their samples in time
    order: a document's own order is arbitrary)."""
    samples: list[Sample] = []
    for o in objs:
        got = json_samples(o) if isinstance(o, dict) else None
        if got is None:
            stats.problem(name, n, "not a metric sample (missing time, name or value)")
            continue
        samples.extend(got)
    if len(samples) > 1:
        samples.sort(key=_sample_time)
    out: list[Record] = []
    for smp in samples:
        out.extend(reader.feed(smp))
    return out


def _sample_time(s: Sample) -> float:
    return s.ts


def _json_records(every: Iterable[tuple[int, bytes]], name: str, stats: Stats, jkind: str,
                  reader: MetricReader | None = None) -> Pairs:
    """JSON lines of one kind (the commonest input: one loop, no layer per line). Metrics (``reader``):
    a plain gauge line on the shortest path, anything else through :func:`_metric_records`."""
    import orjson

    if reader is None:
        parse = JSON_PARSERS[jkind]
    else:
        plain = reader.plain

        def parse(d: dict[str, Any]) -> Record | None:
            line = _sample_line(d)
            return None if line is None else plain(*line)
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    nlines = nevents = 0
    for n, raw in every:
        try:
            obj = loads(raw)
        except decode_error as exc:
            if raw.strip():
                nlines += 1
                stats.problem(name, n, f"malformed JSON: {exc}")
            continue
        nlines += 1
        if obj.__class__ is dict:
            rec = parse(obj)
            if rec is not None:
                nevents += 1
                yield raw, rec
                continue
            if reader is None:
                stats.problem(name, n, f"not a valid {jkind} record (missing time or fields)")
                continue
        objs = obj if isinstance(obj, list) else [obj]
        if reader is not None:
            tb = raw if len(raw) < 4096 else b"%d" % n
            for rec in _metric_records(objs, n, name, stats, reader):
                nevents += 1
                yield tb, rec
            continue
        batch: list[tuple[bytes, Record]] = []
        for i, o in enumerate(objs):
            rec = parse(o) if isinstance(o, dict) else None
            if rec is None:
                stats.problem(name, n, f"not a valid {jkind} record (missing time or fields)")
                continue
            nevents += 1
            batch.append((raw + b"\0" + str(i).encode(), rec))
        batch.sort(key=lambda pair: pair[1]["_ts"])  # a whole document: its own order is arbitrary
        yield from batch
    if reader is not None:
        for rec in reader.flush():
            nevents += 1
            yield b"", rec
    stats.lines += nlines
    stats.events += nevents
    return nevents


def ordered(pairs: Iterable[tuple[bytes, Record]], lateness: float, stats: Stats,
            name: str) -> Iterator[Item]:
    """Put one file in event-time order with a reorder buffer of ``lateness`` seconds.

    Mostly-sorted input is the common case: in-order records are appended, the rare out-of-order one
    is inserted in place; records leave once event time is ``lateness`` past them. A record older than
    one already released cannot be placed any more: it is counted as late and skipped.
    """
    buf: list[Item] = []
    head = 0
    high = float("-inf")
    last_out = float("-inf")
    seq = _seq
    insort = bisect.insort
    late = 0
    for tb, rec in pairs:
        ts = rec["_ts"]
        if ts < last_out:
            late += 1
            continue
        item = (ts, tb, next(seq), rec)
        if ts > high:
            buf.append(item)
            high = ts
            limit = ts - lateness
            n = len(buf)
            while head < n and buf[head][0] <= limit:
                out = buf[head]
                head += 1
                last_out = out[0]
                yield out
            if head > 4096:
                del buf[:head]
                head = 0
        else:
            insort(buf, item, lo=head)
    for i in range(head, len(buf)):
        yield buf[i]
    if late:
        stats.late[name] = stats.late.get(name, 0) + late
        if len(stats.problems) < MAX_PROBLEMS:
            stats.problems.append(InputProblem(name, None, f"{late} records more than {lateness:g} s out of "
                                                           f"time order skipped (see --lateness)"))


class Reorder:
    """:func:`ordered` for records pushed one at a time (a stream fed in batches): the same buffer and
    rule, kept as plain attributes between calls so a detector's snapshot can hold it. Ties of time and
    tiebreak go by arrival (a counter of its own: a restored buffer numbers on from where it stood)."""

    def __init__(self, lateness: float) -> None:
        self.lateness = lateness
        self.buf: list[Item] = []
        self.high = float("-inf")
        self.last_out = float("-inf")
        self.seq = 0
        #: records that came too late, since :meth:`take_late` last asked
        self.late = 0

    def push(self, tb: bytes, rec: Record, out: list[Item]) -> None:
        """Add one record; those it releases (event time ``lateness`` past them) are appended to ``out``."""
        ts = rec["_ts"]
        if ts < self.last_out:
            self.late += 1
            return
        self.seq += 1
        item = (ts, tb, self.seq, rec)
        buf = self.buf
        if ts > self.high:
            buf.append(item)
            self.high = ts
            limit = ts - self.lateness
            n = 0
            while n < len(buf) and buf[n][0] <= limit:
                n += 1
            if n:
                self.last_out = buf[n - 1][0]
                out.extend(buf[:n])
                del buf[:n]
        else:
            bisect.insort(buf, item)

    def drain(self) -> list[Item]:
        """The end of input: every record still held, in order."""
        out, self.buf = self.buf, []
        if out:
            self.last_out = out[-1][0]
        return out

    def take_late(self) -> int:
        n, self.late = self.late, 0
        return n


def open_file_records(path: str, stats: Stats, bridge: EngineBridge | None, lateness: float,
                      mappings: list[ConfiguredMapping] | None = None) -> Iterator[Item]:
    """One input's records in time order; an input that cannot be opened is reported (``stats.fail``)
    and yields nothing, so the other inputs are still read."""
    from cnsec.detect.sources import open_binary
    from cnsec.errors import CnsecError

    try:
        mtime = os.stat(path).st_mtime if path != "-" else 0.0
    except OSError:
        mtime = 0.0
    try:
        stream = open_binary(path)
    except CnsecError as exc:
        stats.fail(path, None, exc.message)
        return
    except OSError as exc:  # opened, then the first read failed (a directory on some systems, EIO)
        stats.fail(path, None, f"cannot read: {exc.strerror or exc}")
        return
    with stream:
        yield from ordered(file_records(_readable(stream, path, stats), path, stats, bridge, mtime, mappings),
                           lateness, stats, path)


def _readable(stream: IO[bytes], name: str, stats: Stats) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of ``stream`` up to where it cannot be read further (a truncated or corrupt
    gzip, a failing disk): that is reported, and what was read before is kept."""
    from cnsec.detect.sources import READ_ERRORS, iter_lines

    try:
        yield from iter_lines(stream)
    except READ_ERRORS as exc:
        stats.fail(name, None, f"cannot read further: {exc}")


def merge(streams: list[Iterator[Item]]) -> Iterator[Item]:
    """Merge per-file time-ordered streams into one (ties broken by content, never by file order)."""
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams)
