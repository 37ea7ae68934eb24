"""The server's Prometheus metrics: named here once, counted per server.

Each metric is declared once, as a module constant another part imports; the instance that counts
lives in the registry of one server (one :class:`ServeContext`), because one process may run many
servers (the tests make hundreds) and a process-global registry would mix their counts and refuse
the second registration. A part counts with ``.of(ctx)``::

    from cnsec.serve.metrics import ALERTS_STORED, INGEST_EVENTS, QUEUE_DEPTH

    INGEST_EVENTS.of(ctx).labels(source="k8s-audit").inc(len(events))
    QUEUE_DEPTH.of(ctx).set(waiting)                  # or .set_function(lambda: queue.depth())
    ALERTS_STORED.of(ctx).labels(severity=alert.severity).inc()

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


INGEST_EVENTS = Metric(Counter, "cnsec_ingest_events", "Events accepted by the ingest routes (queued durably).",
                       ("source",))
QUEUE_DEPTH = Metric(Gauge, "cnsec_ingest_queue_depth", "Ingest batches queued and not yet through detection.")
ALERTS_STORED = Metric(Counter, "cnsec_alerts_stored", "Alert updates stored (new alerts and grown counts).",
                       ("severity",))
REQUESTS = Metric(Counter, "cnsec_http_requests", "HTTP requests answered, by route template and status.",
                  ("method", "route", "status"))
LATENCY = Metric(Histogram, "cnsec_http_request_duration_seconds",
                 "Time from request to the end of the answer, by route template.", ("method", "route"),
                 buckets=LATENCY_BUCKETS)
DB_UP = Metric(Gauge, "cnsec_database_up", "1 when the last readiness probe reached the database, else 0.")

#: Every declared metric: created (at zero) with the registry, so a scrape shows them from the start.
ALL: tuple[Metric[Any], ...] = (INGEST_EVENTS, QUEUE_DEPTH, ALERTS_STORED, REQUESTS, LATENCY, DB_UP)


class Registry:
    """One server's metrics: a Prometheus registry and the instances of the declared metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()
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


def render(ctx: ServeContext) -> tuple[bytes, str]:
    """The scrape: the text exposition and its content type."""
    return generate_latest(registry_of(ctx).registry), CONTENT_TYPE_LATEST
