"""Publishing to the bus: asynchronous (ack futures, never one await per message), many events per
message, bounded in flight (back-pressure stops the reader instead of growing memory).

Partitioning happens here, on the publisher's side: an event's correlation key is hashed (crc32) into
one of P partitions and the event batched with others of its partition. JetStream's subject mapping
(``{{partition(P, token)}}``) could pick the partition on the server instead, but only from subject
tokens: every message would then have to carry a single key in its subject, i.e. one event per message
(or one key per batch), and keys (ARNs, user names, IPs) are not subject-token safe. Batching is where
the throughput is, so the hash is ours: one function, the same in every publisher (``cnsec detect
--publish``, the ingest endpoint).

Every message has a ``Nats-Msg-Id`` (publisher run id and batch number): a batch sent again after a
lost acknowledgement (the server restarted, the connection dropped) is stored once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cnsec.serve.bus.codec import encode
from cnsec.serve.bus.config import BusConfig, BusError, connect, ensure_bus, events_subject
from cnsec.serve.bus.processor import Record


def partition_of(key: str, partitions: int) -> int:
    """A key's partition: crc32 is stable across processes and versions (``hash()`` is salted)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % partitions


class Outbox:
    """Messages on their way to a stream: each is re-sent with the same ``Nats-Msg-Id`` until the
    stream acknowledges it (or ``give_up`` seconds pass: then :meth:`drain` raises). At most
    ``max_inflight`` are unacknowledged; :meth:`send` waits beyond that.

    ``ordered``: the messages of one subject are stored in the order sent. Each subject is then a lane
    with one message in flight at a time (the next goes when the last is acknowledged), so a message
    sent again after a lost acknowledgement can never land behind a later one; lanes run side by side
    (a partition each). Unordered (alert updates: they fold by count) every message flies at once."""

    def __init__(self, js: Any, max_inflight: int = 64, ack_timeout: float = 5.0, give_up: float = 120.0,
                 *, ordered: bool = False) -> None:
        self.js = js
        self.ack_timeout = ack_timeout
        self.give_up = give_up
        self.ordered = ordered
        self._slots = asyncio.Semaphore(max_inflight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, deque[tuple[bytes, str]]] = {}
        self._failed: list[str] = []
        self.sent = 0
        self.retries = 0

    async def send(self, subject: str, payload: bytes, msg_id: str) -> None:
        await self._slots.acquire()
        if not self.ordered:
            self._start(self._deliver_one(subject, payload, msg_id))
            return
        lane = self._lanes.get(subject)
        if lane is not None:
            lane.append((payload, msg_id))
            return
        self._lanes[subject] = deque([(payload, msg_id)])
        self._start(self._run_lane(subject))

    def _start(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_one(self, subject: str, payload: bytes, msg_id: str) -> None:
        try:
            await self._deliver(subject, payload, msg_id)
        finally:
            self._slots.release()

    async def _run_lane(self, subject: str) -> None:
        lane = self._lanes[subject]
        try:
            while lane:
                payload, msg_id = lane[0]
                await self._deliver(subject, payload, msg_id)
                lane.popleft()
                self._slots.release()
        finally:
            del self._lanes[subject]

    async def _deliver(self, subject: str, payload: bytes, msg_id: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up
        delay = 0.05
        while True:
            try:
                future = await self.js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
                await asyncio.wait_for(future, self.ack_timeout)  # cancels the future on time-out
                self.sent += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # nats' errors, time-outs, a full reconnect buffer: send again
                if loop.time() > deadline:
                    self._failed.append(f"{subject}: {type(exc).__name__}: {exc}")
                    return
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def abort(self) -> None:
        """Stop sending (the caller gave up waiting): what is in flight may still be stored."""
        for task in list(self._tasks):
            task.cancel()  # a lane's task forgets its lane as it ends

    async def drain(self) -> None:
        """Every message sent so far is stored (or this raises :class:`BusError`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        if self._failed:
            failed, self._failed = self._failed, []
            raise BusError(f"{len(failed)} message(s) not stored by the bus: {failed[0]}")


@dataclass
class PublishStats:
    events: int = 0
    messages: int = 0
    seconds: float = 0.0
    #: messages sent again (no acknowledgement in time: a dropped connection, a restarted server)
    retries: int = 0


class Publisher:
    """Records → partitioned batches → the events stream. Use :meth:`add` then :meth:`close`."""

    def __init__(self, js: Any, cfg: BusConfig, partitions: int, *, run_id: str | None = None) -> None:
        self.cfg = cfg
        self.partitions = partitions
        self.outbox = Outbox(js, cfg.max_inflight, ordered=True)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.stats = PublishStats()
        self._buffers: list[list[Record]] = [[] for _ in range(partitions)]
        self._sizes = [0] * partitions
        self._since = [0.0] * partitions
        self._n = 0

    async def add(self, records: Iterable[Record]) -> None:
        parts = self.partitions
        bufs = self._buffers
        sizes = self._sizes
        max_events = self.cfg.batch_events
        max_bytes = self.cfg.batch_bytes
        for r in records:
            p = partition_of(r.key, parts)
            buf = bufs[p]
            if not buf:
                self._since[p] = time.monotonic()
            buf.append(r)
            sizes[p] += len(r.raw) + 16
            if len(buf) >= max_events or sizes[p] >= max_bytes:
                await self._send(p)

    async def tick(self) -> None:
        """Send batches that waited longer than the linger time (a trickle of events)."""
        now = time.monotonic()
        for p, buf in enumerate(self._buffers):
            if buf and now - self._since[p] >= self.cfg.linger:
                await self._send(p)

    async def _send(self, p: int) -> None:
        records = self._buffers[p]
        self._buffers[p] = []
        self._sizes[p] = 0
        self._n += 1
        self.stats.events += len(records)
        self.stats.messages += 1
        payload = encode(records)
        await self.outbox.send(events_subject(p), payload, f"{self.run_id}.{self._n}")

    def abort(self) -> None:
        """Give up on what is not yet acknowledged (an ingest request that timed out)."""
        self.outbox.abort()

    async def close(self) -> PublishStats:
        for p, buf in enumerate(self._buffers):
            if buf:
                await self._send(p)
        await self.outbox.drain()
        self.stats.retries = self.outbox.retries
        return self.stats


async def publish_records(cfg: BusConfig, produce: Callable[[Callable[[Sequence[Record]], None]], None],
                          *, queue_size: int = 8) -> PublishStats:
    """Publish what ``produce(sink)`` hands to ``sink`` (lists of records, in order); ``produce`` runs
    in a thread (reading and parsing files) and blocks while ``queue_size`` lists wait to be sent."""
    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        partitions = await ensure_bus(js, cfg)
        pub = Publisher(js, cfg, partitions)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Sequence[Record] | None] = asyncio.Queue(queue_size)
        stopped = threading.Event()

        def put(item: Sequence[Record] | None) -> None:  # in the reading thread: waits for room
            done = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            while True:
                try:
                    done.result(0.25)
                    return
                except concurrent.futures.TimeoutError:
                    if stopped.is_set():  # the sending side failed: stop reading
                        done.cancel()
                        raise BusError("publishing stopped") from None

        def run() -> None:
            try:
                produce(put)
            finally:
                if not stopped.is_set():
                    put(None)

        start = time.perf_counter()
        reader = loop.run_in_executor(None, run)
        try:
            while (batch := await queue.get()) is not None:
                await pub.add(batch)
        except BaseException:
            stopped.set()
            raise
        await reader  # its exceptions, if any
        stats = await pub.close()
        stats.seconds = time.perf_counter() - start
        return stats
    finally:
        await nc.close()
