"""The server's Prometheus metrics: named here once, counted per server.

Each metric is declared once, as a module constant another part imports; the instance that counts
lives in the registry of one server (one :class:`ServeContext`), because one process may run many
servers (the tests make hundreds) and a process-global registry would mix their counts and refuse
the second registration. A part counts with ``.of(ctx)``::

    from cnsec.serve.metrics import ALERTS_STORED, INGEST_EVENTS, QUEUE_DEPTH

    INGEST_EVENTS.of(ctx).inc(len(events))
    QUEUE_DEPTH.of(ctx).set(waiting)
    ALERTS_STORED.of(ctx).inc(written)

The ingest part is read rather than told (:func:`follow_ingest`): its worker reports each commit
through ``ctx.parts["on_ingest_stored"]`` (the worker thread) or shared counters (the worker
process), and its queue keeps the depth; the scrape takes them as they are.

``GET /metrics`` (permission ``metrics:read``) renders the server's registry in the Prometheus text
format (:func:`render`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from cnsec.serve.context import ServeContext

M = TypeVar("M", Counter, Gauge, Histogram)

#: Request latency buckets (seconds): from a cached page (a few ms) to an archive upload (tens of s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metric(Generic[M]):
    """A metric's declaration: kind, name, help and label names; :meth:`of` is one server's instance."""

    def __init__(self, kind: type[M], name: str, documentation: str, labels: tuple[str, ...] = (),
                 **options: Any) -> None:
        self.kind: type[M] = kind
        self.name, self.documentation, self.labels, self.options = name, documentation, labels, options

    def of(self, ctx: ServeContext) -> M:
        return registry_of(ctx).instance(self)


INGEST_EVENTS = Metric(Counter, "cnsec_ingest_events", "Ingested events run through detection and committed.")
QUEUE_DEPTH = Metric(Gauge, "cnsec_ingest_queue_depth", "Ingest batches queued and not yet through detection.")
ALERTS_STORED = Metric(Counter, "cnsec_alerts_stored", "Alert updates stored (new alerts and grown counts).")
INGEST_PROBLEMS = Metric(Counter, "cnsec_ingest_problems",
                         "Problems detection reported on ingested events (an unreadable line, a rule that raised, "
                         "records too far out of time order to correlate); each is also a warning in the log.")
INGEST_RESTARTS = Metric(Gauge, "cnsec_ingest_worker_restarts", "Times the detection worker process was restarted.")
REQUESTS = Metric(Counter, "cnsec_http_requests", "HTTP requests answered, by route template and status.",
                  ("method", "route", "status"))
LATENCY = Metric(Histogram, "cnsec_http_request_duration_seconds",
                 "Time from request to the end of the answer, by route template.", ("method", "route"),
                 buckets=LATENCY_BUCKETS)
DB_UP = Metric(Gauge, "cnsec_database_up", "1 when the last readiness probe reached the database, else 0.")

#: Every declared metric: created (at zero) with the registry, so a scrape shows them from the start.
ALL: tuple[Metric[Any], ...] = (INGEST_EVENTS, QUEUE_DEPTH, ALERTS_STORED, INGEST_PROBLEMS, INGEST_RESTARTS,
                                 REQUESTS, LATENCY, DB_UP)


class Registry:
    """One server's metrics: a Prometheus registry and the instances of the declared metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: the worker process's cumulative counts already added (metric name -> total)
        self.seen: dict[str, int] = {}
        self.sync_lock = threading.Lock()
        for metric in ALL:
            self.instance(metric)

    def instance(self, metric: Metric[M]) -> M:
        made = self._made.get(metric.name)
        if made is None:
            with self._lock:
                made = self._made.get(metric.name)
                if made is None:
                    made = self._made[metric.name] = metric.kind(
                        metric.name, metric.documentation, metric.labels, registry=self.registry, **metric.options)
        instance: M = made
        return instance


_MAKE_LOCK = threading.Lock()


def registry_of(ctx: ServeContext) -> Registry:
    """The server's registry, made on first use and kept in ``ctx.parts``."""
    reg = ctx.parts.get("metrics")
    if not isinstance(reg, Registry):
        with _MAKE_LOCK:
            reg = ctx.parts.get("metrics")
            if not isinstance(reg, Registry):
                reg = ctx.parts["metrics"] = Registry()
    return reg


def follow_ingest(ctx: ServeContext) -> None:
    """Count what the ingest worker thread stores (set before the worker is made: at mount)."""
    events, alerts = INGEST_EVENTS.of(ctx), ALERTS_STORED.of(ctx)

    def on_stored(fed: int, written: int) -> None:
        events.inc(fed)
        alerts.inc(written)

    ctx.parts.setdefault("on_ingest_stored", on_stored)


def _sync_ingest(ctx: ServeContext) -> None:
    """Bring the ingest figures up to date: the queue's depth, and what the worker process counted
    since the last scrape (its counters are shared memory, cumulative)."""
    ingest = ctx.parts.get("ingest")
    if ingest is not None:
        QUEUE_DEPTH.of(ctx).set(getattr(ingest[0], "depth", 0))
    proc = ctx.parts.get("ingest_process")
    reg = registry_of(ctx)
    totals: list[tuple[Metric[Any], int]] = []
    if proc is not None:  # the worker process's shared counters
        totals = [(m, int(getattr(proc, c).value)) for m, c in ((INGEST_EVENTS, "fed"), (ALERTS_STORED, "stored"),
                                                                (INGEST_PROBLEMS, "problems"))
                  if getattr(proc, c, None) is not None]
        INGEST_RESTARTS.of(ctx).set(getattr(proc, "restarts", 0))
    elif ingest is not None:  # the worker thread counts its problems on itself
        totals = [(INGEST_PROBLEMS, int(getattr(ingest[1], "problems_seen", 0)))]
    with reg.sync_lock:
        for metric, total in totals:
            seen = reg.seen.get(metric.name, 0)
            if total > seen:
                metric.of(ctx).inc(total - seen)
                reg.seen[metric.name] = total


def render(ctx: ServeContext) -> tuple[bytes, str]:
    """The scrape: the text exposition and its content type."""
    _sync_ingest(ctx)
    return generate_latest(registry_of(ctx).registry), CONTENT_TYPE_LATEST
