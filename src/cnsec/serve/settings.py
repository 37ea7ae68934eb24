"""What ``cnsec serve`` is told at start: where the database is, where to listen, and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field

#: How far out of time order ingested events may arrive and still be correlated: the detect pillar's
#: own default (``cnsec detect --threats``; importing it loads two small modules, no more)
from cnsec.detect import DEFAULT_LATENESS as DEFAULT_LATENESS

#: The default port: 8443 whether or not TLS is configured, so that turning TLS on changes no URL
#: but its scheme.
DEFAULT_PORT = 8443


@dataclass(frozen=True, slots=True)
class Settings:
    """One server's settings. ``db_url`` None means ``CNSEC_DB``, else the SQLite file in the data dir."""

    db_url: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert: str | None = None
    tls_key: str | None = None
    #: largest request body read, in bytes; larger ones get 413 before they are read whole
    max_body: int = 16 << 20
    #: larger limits for the routes that take archives (path prefix -> bytes)
    max_body_by_prefix: dict[str, int] = field(default_factory=lambda: {"/v1/assessments": 256 << 20})
    #: largest request head (request line and headers), in bytes; a larger one gets 431
    max_header_bytes: int = 32 << 10
    #: a browser session lasts this long after login (seconds), whatever its activity
    session_ttl: float = 8 * 3600.0
    #: requests allowed from one client to the login route per minute, before 429
    login_per_minute: int = 30
    #: ingest queue: batches waiting for detection before new posts get 503 + Retry-After
    queue_max_batches: int = 5000
    # -- ingest (serve/ingest): the rules events run through, as `cnsec detect --rules … [--no-default-rules]`
    rules: tuple[str, ...] = ()
    default_rules: bool = True
    #: threat correlation on the rule hits (``cnsec detect --threats``), and its reorder buffer's lateness
    #: (seconds of event time). The buffer holds every hit of the last ``lateness`` seconds and is part of
    #: each checkpoint, so its cost grows with the event rate (docs/serve.md, "Rules, threats and throughput")
    threats: bool = True
    lateness: float = DEFAULT_LATENESS
    #: the detector's state is checkpointed (and the queue rows it covers deleted) this often (seconds)
    checkpoint_every: float = 2.0
    #: where detection runs: "process" (a worker process: ingest and detection on two cores), "thread"
    #: (in the server process), "none" (events are queued, nothing takes them: tests)
    ingest_worker: str = "process"
    # -- the bus (serve/ingest/bus.py; docs/scale.md): NATS URL; ``None``: ingest queues in the database and
    #: detection runs here. With a bus, ingest publishes to it and the server stores the alerts its workers make
    bus: str | None = None
    #: an ingest request waits this long (seconds) for JetStream to store all its events, then answers 503
    bus_timeout: float = 5.0
    #: the server's durable consumer of the alerts stream: servers over one store share it (they split the
    #: updates between them); a server over a store of its own needs a name of its own
    bus_consumer: str = "cnsec-serve"
    #: SQLite only: write-ahead logging (serve/ingest/part.py says why); off leaves the file's mode as is
    sqlite_wal: bool = True
    #: server-side folders a JSON ``{"target", "path"}`` assessment may read under; empty: none may
    assess_roots: tuple[str, ...] = ()
    #: the respond engine's own hash-chained trail (its memory for idempotency and the rate limit);
    #: ``None`` is the one ``cnsec respond`` uses ($CNSEC_AUDIT_LOG, else the XDG state dir)
    respond_audit_log: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    def body_limit(self, path: str) -> int:
        """The body limit for a request path: the longest configured prefix wins."""
        best, limit = -1, self.max_body
        for prefix, size in self.max_body_by_prefix.items():
            if path.startswith(prefix) and len(prefix) > best:
                best, limit = len(prefix), size
        return limit
