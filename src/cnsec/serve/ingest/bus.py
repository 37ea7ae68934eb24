"""Ingest through the bus (``cnsec serve --bus URL``): events are published, not queued, and the alerts
the bus's workers make come back into the store.

Publishing. A request's events are read and keyed by :func:`cnsec.detect.event_records`, exactly as
``cnsec detect --publish`` reads a file of them, and batched by partition by the same
:class:`~cnsec.serve.bus.publisher.Publisher` (one hash, one batching, in one place). The request is
answered only when JetStream has stored every message of it; a bus that is unreachable, or slower than
``Settings.bus_timeout``, is a 503 with Retry-After, never a silent drop. There is no local queue and
no local detection: ``cnsec detect --bus URL --worker`` processes detect.

The publisher runs on the server's own event loop (uvicorn's, where the request is served): each
request has its publisher and awaits only its own acknowledgements, so requests interleave on the
loop instead of taking turns (bench figures in docs/scale.md); reading and keying the events (CPU) runs
in the thread pool like the database queue's commit does.

A request's messages carry ids made of its content (``ingest-<sha256 of kind and body>.<batch>``): a
client that sends a request again after a 503 or a lost answer (the audit webhook retries its batch)
has it stored once, where a part of it reached the bus before the time-out — within JetStream's
de-duplication window (``BusConfig.dedup_window``). The same body posted twice on purpose in that
window is stored once too; audit records and CloudTrail events carry their own ids and times, so two
equal bodies are one batch sent twice.

Alerts. A durable pull consumer of ``CNSEC_ALERTS`` (``Settings.bus_consumer``) takes the alert
updates (a message holds those one event message caused, one a line), folds them by id (the highest
count), upserts each as the local worker does (absolute count, last seen and evidence; status and
assignee kept; a row is never lowered), and acknowledges after the commit: an update delivered again
changes nothing, one lost with a crash is delivered again. An update without ``evidence`` (the alert's
evidence, its first hits, did not change) keeps what the row holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from cnsec.serve.bus.config import ALERTS, BusConfig, BusError, connect, ensure_bus, shown
from cnsec.serve.bus.status import fold_updates, updates_of, with_evidence
from cnsec.serve.context import ServeContext
from cnsec.serve.errors import RETRY_AFTER, ApiError
from cnsec.serve.ingest.worker import record_row, store_updates

if TYPE_CHECKING:  # the publisher (and its compression) is loaded when a bus is used, not by every server
    from cnsec.serve.bus.publisher import PublishStats

log = logging.getLogger("cnsec.serve.ingest")

#: Alert updates taken from the stream per commit.
FETCH = 256


def unreachable(ctx: ServeContext, why: str = "is unreachable") -> ApiError:
    """The answer while the bus cannot take events (the readiness probe answers the same)."""
    return ApiError(503, f"the bus at {shown(ctx.settings.bus or '')} {why}; try again shortly",
                    code="bus_unavailable", headers={"Retry-After": str(RETRY_AFTER)})


class BusIngest:
    """The server's side of the bus: one NATS connection (reconnecting for ever), the publishing of
    requests, and the consumer that stores alerts. Lives on the app's event loop."""

    def __init__(self, ctx: ServeContext) -> None:
        assert ctx.settings.bus, "BusIngest needs Settings.bus"
        self.ctx = ctx
        self.cfg = BusConfig(url=ctx.settings.bus)
        self.nc: Any = None
        self.js: Any = None
        self.partitions = 0
        self.on_stored: Callable[[int, int], None] | None = None  # metrics: set by then (at start)
        self._consumer: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self.nc is not None and bool(self.nc.is_connected)

    # ------------------------------------------------------------------ life
    async def start(self) -> Callable[[], Any]:
        self.on_stored = self.ctx.parts.get("on_ingest_stored")
        self.nc = await connect(self.cfg)
        self.js = self.nc.jetstream()
        self.partitions = await ensure_bus(self.js, self.cfg)
        self._consumer = asyncio.create_task(self._consume(), name="cnsec-bus-alerts")
        log.info("ingest: publishing to the bus at %s (%d partitions)", shown(self.cfg.url), self.partitions)
        return self.stop

    async def stop(self) -> None:
        self._stopping = True
        task, self._consumer = self._consumer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()

    # ------------------------------------------------------------------ publishing
    async def publish(self, records: list[Any], kind: str, body: bytes) -> PublishStats:
        """Publish one request's records; returns once JetStream stored them all (the events and
        messages stored; an event too large for the bus is logged and left out), or raises the 503
        :class:`ApiError`."""
        from cnsec.serve.bus.publisher import Publisher, PublishStats, largest_message

        if not records:
            return PublishStats()
        if not self.connected:
            raise unreachable(self.ctx)
        digest = hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()[:32]
        pub = Publisher(self.js, self.cfg, self.partitions, run_id=f"ingest-{digest}",
                        max_message=largest_message(self.nc))
        timeout = self.ctx.settings.bus_timeout
        try:
            async with asyncio.timeout(timeout):
                await pub.add(records)
                stats = await pub.close()
        except TimeoutError:
            pub.abort()
            raise unreachable(self.ctx, f"did not store the events within {timeout:g} s") from None
        except BusError as exc:
            pub.abort()
            log.warning("ingest: %s", exc)
            raise unreachable(self.ctx, "did not store the events") from None
        for p in stats.too_large:  # named, as the events the reader cannot take are
            log.warning("ingest: %s", p)
        if self.on_stored is not None:
            self.on_stored(stats.events, 0)
        return stats

    # ------------------------------------------------------------------ alerts
    async def _subscribe(self) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        conf = ConsumerConfig(durable_name=self.ctx.settings.bus_consumer, ack_policy=AckPolicy.ALL,
                              deliver_policy=DeliverPolicy.ALL, ack_wait=60.0, max_deliver=-1)
        return await self.js.pull_subscribe("cnsec.alerts.*", durable=self.ctx.settings.bus_consumer,
                                            stream=ALERTS, config=conf)

    async def _consume(self) -> None:
        """Alert updates → the store, acknowledged after the commit; the bus or the database away is
        waited for (with back-off), never a lost update."""
        sub: Any = None
        backoff = 0.1
        while not self._stopping:
            try:
                if sub is None:
                    sub = await self._subscribe()
                try:
                    msgs = await sub.fetch(FETCH, timeout=1.0)
                except TimeoutError:
                    continue
                if not msgs:
                    continue
                await self._store(msgs)
                await msgs[-1].ack()  # AckPolicy.ALL: every message up to this one
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus restarting, the connection dropped: take it up again
                if self._stopping:
                    break
                log.warning("ingest: reading alerts from the bus: %s: %s; retrying in %.1f s",
                            type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "", backoff)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    sub = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _store(self, msgs: list[Any]) -> None:
        """Fold the messages' updates by id (the highest count) and commit them; retried until the
        database takes them (the messages stay unacknowledged meanwhile)."""
        updates: list[dict[str, Any]] = []
        for msg in msgs:
            try:
                updates += updates_of(msg.data)
            except ValueError:  # orjson's decode error is one
                log.warning("ingest: alerts stream message %d is not an alert update: skipped",
                            msg.metadata.sequence.stream)
        newest = fold_updates(updates)
        backoff = 0.1
        while newest:
            try:
                stored = await asyncio.to_thread(self._commit, newest)
            except Exception as exc:
                if self._stopping:
                    raise
                log.error("ingest: storing alerts failed (%s: %s); retrying in %.1f s", type(exc).__name__,
                          str(exc).splitlines()[0][:200] if str(exc) else "", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.on_stored is not None:
                self.on_stored(0, stored)
            return

    def _commit(self, newest: dict[str, dict[str, Any]]) -> int:
        """One transaction: the rows of the folded updates, upserted. An update without ``evidence``
        (the alert's first hits did not change) keeps the evidence its stored row holds."""
        from sqlalchemy import select

        from cnsec.store import schema

        now = self.ctx.iam.clock()
        t = schema.serve_alerts
        with self.ctx.engine.begin() as conn:
            bare = [uid for uid, u in newest.items() if "evidence" not in u]
            kept: dict[str, Any] = {}
            for i in range(0, len(bare), 500):
                for uid, data in conn.execute(select(t.c.id, t.c.data).where(t.c.id.in_(bare[i:i + 500]))):
                    with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                        kept[uid] = orjson.loads(data).get("evidence", [])
            rows = []
            for uid, u in newest.items():
                if "evidence" not in u:
                    u = with_evidence(u, kept.get(uid, []))
                try:
                    rows.append(record_row(u, now))
                except (KeyError, TypeError, ValueError) as exc:  # an update of another shape: named, skipped
                    log.warning("ingest: alert update %s: the store cannot take it (%s: %s): skipped",
                                uid, type(exc).__name__, exc)
            if rows:
                store_updates(conn, rows)
        return len(rows)


def bus_of(ctx: ServeContext) -> BusIngest:
    """The server's bus part, made on first use (started with the app)."""
    part = ctx.parts.get("bus")
    if part is None:
        part = ctx.parts["bus"] = BusIngest(ctx)
    assert isinstance(part, BusIngest)
    return part


def records_of(groups: list[tuple[str, list[bytes]]]) -> list[Any]:
    """One request's groups (source, event lines) as records for the bus; lines the reader cannot
    take are logged, as the local worker logs them."""
    from cnsec.detect import event_records

    out: list[Any] = []
    for source, lines in groups:
        records, problems = event_records(lines, source, f"ingest-{source}")
        out += records
        for p in problems:
            log.warning("ingest: %s", p)
    return out


def bus_ready(ctx: ServeContext) -> bool:
    """Readiness: the server has a bus and is connected to it (or has none)."""
    if not ctx.settings.bus:
        return True
    part = ctx.parts.get("bus")
    return isinstance(part, BusIngest) and part.connected
