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

A file publisher (:func:`publish_records`) partitions, batches and encodes in its reading thread
(:class:`Batcher`), and the event loop only sends finished messages: the two threads share the GIL, so
what one event costs in both is what bounds the rate (at 200,000 events/s, 5 us an event in all).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cnsec.model.finding import InputProblem
from cnsec.serve.bus.codec import as_line, encode_batch, pack
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
    #: events not published: larger than the bus's largest message (each named by input and line)
    too_large: list[InputProblem] = field(default_factory=list)


#: a batch ready to send: (partition, payload, events in it)
Ready = tuple[int, bytes, int]
#: batches the reading thread hands the event loop at a time: each handing wakes the loop (a write to
#: its self-pipe) and moves the GIL, which cost 5% of the publisher's time at one handing per 5 batches
HANDFUL = 16
#: keys whose partition a :class:`Batcher` keeps
KNOWN_KEYS = 100_000
#: room kept in a message beside its events: the batch's header (inputs, runs, line numbers) and NATS's
MESSAGE_ROOM = 64 * 1024
#: the largest message a NATS server takes unless configured otherwise (its ``max_payload``)
DEFAULT_MAX_MESSAGE = 1 << 20


def largest_message(nc: Any) -> int:
    """The largest message the connected server takes (its ``max_payload``, as it announced it)."""
    return int(nc.max_payload or DEFAULT_MAX_MESSAGE)


class EventSink(Protocol):
    """Where a reader hands events, a run of one input at a time, in order: ``lines[i]`` of input
    ``name`` (read as ``source``) holds ``raws[i]`` (one JSON event as a line: ending with its newline
    and holding no other, see :func:`~cnsec.serve.bus.codec.as_line`), whose correlation key is
    ``keys[i]``. Columns, not an object per event (see :class:`Batcher`)."""

    def __call__(self, source: str, name: str, lines: list[int], keys: list[str], raws: list[bytes]) -> None: ...


class Batcher:
    """Events → batches of one partition each, encoded (:func:`~cnsec.serve.bus.codec.encode_batch`):
    the one partitioning and batching of every publisher (:meth:`Publisher.add`, the reading thread
    of :func:`publish_records`). A partition's events stay in their order; a batch is ready at
    ``max_events`` events or ``max_bytes`` bytes of events (before compression), or when asked
    (:meth:`due`, :meth:`rest`).

    It takes columns (:meth:`add`), not an object per event: at 200,000 events/s a publisher has
    5 us per event in all, and the reading thread that runs it holds the GIL the sending needs. Not
    thread-safe: one thread batches at a time."""

    def __init__(self, partitions: int, max_events: int, max_bytes: int,
                 max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.partitions = partitions
        self.max_events = max_events
        self.max_bytes = max_bytes
        #: the most bytes one message can carry (the server's largest message, less the room for
        #: headers): a batch whose compressed payload is larger is cut into pieces that fit (:meth:`_packed`), and an
        #: event larger than this alone is not published but named in :attr:`too_large`: a message
        #: the server refuses would be sent again until the publisher gave up, its batch lost with it
        self.max_event = max(1, max_message - MESSAGE_ROOM)
        self.too_large: list[InputProblem] = []
        self._lines: list[list[int]] = [[] for _ in range(partitions)]
        self._raws: list[list[bytes]] = [[] for _ in range(partitions)]
        self._sizes = [0] * partitions
        #: per partition, the input of its events from each index on (encode_batch's ``runs``)
        self._runs: list[list[tuple[tuple[str, str], int]]] = [[] for _ in range(partitions)]
        #: when each partition's waiting events began to wait (the linger clock; set per call, not per event)
        self._since = [0.0] * partitions
        #: the partition of each key seen (a source has few keys: users, roles; a look-up costs a
        #: sixth of the hash and its call), forgotten past :data:`KNOWN_KEYS`
        self._known: dict[str, int] = {}

    def add(self, source: str, name: str, lines: list[int], keys: list[str], raws: list[bytes]) -> list[Ready]:
        """Batch one input's events (see :class:`EventSink`); returns the batches they filled, in the
        order they filled."""
        ident = (source, name)
        now = time.monotonic()
        parts = self.partitions
        L, R, S, runs = self._lines, self._raws, self._sizes, self._runs
        for q in range(parts):
            if not R[q]:
                runs[q] = [(ident, 0)]
                self._since[q] = now
            elif runs[q][-1][0] != ident:
                runs[q].append((ident, len(R[q])))
        max_events = self.max_events
        max_bytes = self.max_bytes
        max_event = self.max_event
        known = self._known
        if len(known) > KNOWN_KEYS:
            known.clear()
        out: list[Ready] = []
        for key, line, raw in zip(keys, lines, raws, strict=True):
            n = len(raw)
            if n > max_event:
                self.too_large.append(InputProblem(name, line, f"an event of {n:,} bytes does not fit in the bus's "
                                                   f"largest message ({max_event:,} bytes of events): not published"))
                continue
            p = known.get(key)
            if p is None:
                p = known[key] = partition_of(key, parts)
            r = R[p]
            r.append(raw)
            L[p].append(line)
            size = S[p] + n + 16
            if len(r) >= max_events or size >= max_bytes:
                out += self._take(p)
                self._since[p] = now
            else:
                S[p] = size
        return out

    def add_records(self, records: Iterable[Record]) -> list[Ready]:
        """:meth:`add` for records of any inputs (the ingest endpoint's requests)."""
        out: list[Ready] = []
        ident: tuple[str, str] | None = None
        lines: list[int] = []
        keys: list[str] = []
        raws: list[bytes] = []
        for r in records:
            if (r.source, r.name) != ident:
                if ident is not None:
                    out += self.add(*ident, lines, keys, raws)
                    lines, keys, raws = [], [], []
                ident = (r.source, r.name)
            lines.append(r.line)
            keys.append(r.key)
            raws.append(as_line(r.raw))
        if ident is not None:
            out += self.add(*ident, lines, keys, raws)
        return out

    def due(self, linger: float) -> list[Ready]:
        """The batches whose first event has waited ``linger`` seconds or more."""
        now = time.monotonic()
        return [b for p in range(self.partitions) if self._raws[p] and now - self._since[p] >= linger
                for b in self._take(p)]

    def rest(self) -> list[Ready]:
        """Every batch with an event in it (the end of the input)."""
        return [b for p in range(self.partitions) if self._raws[p] for b in self._take(p)]

    def _take(self, p: int) -> list[Ready]:
        runs, lines, raws = self._runs[p], self._lines[p], self._raws[p]
        self._runs[p] = [(runs[-1][0], 0)]
        self._lines[p] = []
        self._raws[p] = []
        self._sizes[p] = 0
        return self._packed(p, runs, lines, raws)

    def _packed(self, p: int, runs: list[tuple[tuple[str, str], int]], lines: list[int],
                raws: list[bytes]) -> list[Ready]:
        """A batch as messages: one, compressed, where it fits in the server's largest message
        (less the room for NATS's headers); otherwise cut into one piece more than its compressed size
        says it needs, each cut again if it still does not fit (events that do not compress). A
        batch is bounded by ``max_bytes`` before compression, which may exceed the largest message:
        audit logs compress about 5x, and a worker's cost per message (a fetch, its alert updates,
        an acknowledgement) is paid per batch, not per event (docs/scale.md). One event alone goes
        the smaller way, compressed or not: :meth:`add` took only events of at most
        :attr:`max_event` bytes, so with its header (the input's name) it is within the room kept."""
        plain = encode_batch(runs, lines, raws)
        payload = pack(plain)
        if len(payload) <= self.max_event:
            return [(p, payload, len(raws))]
        if len(raws) == 1:
            return [(p, plain if len(plain) < len(payload) else payload, 1)]
        # one piece more than the size says: a piece may compress worse than the whole
        pieces = min(len(raws), -(-len(payload) // self.max_event) + 1)
        out: list[Ready] = []
        for k in range(pieces):
            a, b = k * len(raws) // pieces, (k + 1) * len(raws) // pieces
            part_runs = [(ident, max(0, start - a)) for ident, start in runs if start < b]
            out += self._packed(p, part_runs, lines[a:b], raws[a:b])
        return out


class Publisher:
    """Records → partitioned batches (:class:`Batcher`) → the events stream. Use :meth:`add` then
    :meth:`close`; or hand it batches made elsewhere (:meth:`send`)."""

    def __init__(self, js: Any, cfg: BusConfig, partitions: int, *, run_id: str | None = None,
                 max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.cfg = cfg
        self.partitions = partitions
        self.outbox = Outbox(js, cfg.max_inflight, ordered=True)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.stats = PublishStats()
        self.batcher = Batcher(partitions, cfg.batch_events, cfg.batch_bytes, max_message)
        self.stats.too_large = self.batcher.too_large
        self._n = 0

    async def add(self, records: Iterable[Record]) -> None:
        await self.send(self.batcher.add_records(records))

    async def tick(self) -> None:
        """Send batches that waited longer than the linger time (a trickle of events, for a publisher
        fed over time; the CLI and the ingest endpoints send the rest when their input ends)."""
        await self.send(self.batcher.due(self.cfg.linger))

    async def send(self, batches: Iterable[Ready]) -> None:
        """Send ready batches, in order: each message's id is the run id and its number in the run."""
        for p, payload, events in batches:
            self._n += 1
            self.stats.events += events
            self.stats.messages += 1
            await self.outbox.send(events_subject(p), payload, f"{self.run_id}.{self._n}")

    def abort(self) -> None:
        """Give up on what is not yet acknowledged (an ingest request that timed out)."""
        self.outbox.abort()

    async def close(self) -> PublishStats:
        await self.send(self.batcher.rest())
        await self.outbox.drain()
        self.stats.retries = self.outbox.retries
        return self.stats


async def publish_records(cfg: BusConfig, produce: Callable[[EventSink], None], *,
                          queue_size: int = 4) -> PublishStats:
    """Publish the events ``produce(sink)`` hands to ``sink`` (see :class:`EventSink`), in order.
    ``produce`` runs in a thread (reading and parsing files), and so does the batching and encoding
    (:class:`Batcher`): the event loop only sends finished messages. The thread blocks while
    ``queue_size`` handfuls (:data:`HANDFUL`) of finished messages wait to be sent, behind the
    ``max_inflight`` the outbox holds unacknowledged (back-pressure: about 160 messages wait at
    the most, 64 in the outbox, 64 queued, a handful being sent and one being filled: with messages of
    at most 1 MiB, about 160 MB, 70 MB of audit logs' ~450 KB ones; beside them each partition's open
    batch, up to ``batch_bytes`` before compression: 32 MiB with 16 partitions)."""
    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        partitions = await ensure_bus(js, cfg)
        pub = Publisher(js, cfg, partitions, max_message=largest_message(nc))
        batcher = pub.batcher
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[list[Ready] | None] = asyncio.Queue()
        room = threading.Semaphore(queue_size)  # taken by the reading thread, given back as the loop takes
        stopped = threading.Event()

        def put(item: list[Ready] | None) -> None:  # in the reading thread: waits for room
            while not room.acquire(timeout=0.25):
                if stopped.is_set():  # the sending side failed: stop reading
                    raise BusError("publishing stopped")
            if stopped.is_set():
                raise BusError("publishing stopped")
            loop.call_soon_threadsafe(queue.put_nowait, item)

        pending: list[Ready] = []

        def sink(source: str, name: str, lines: list[int], keys: list[str], raws: list[bytes]) -> None:
            nonlocal pending
            pending += batcher.add(source, name, lines, keys, raws)
            if len(pending) >= HANDFUL:
                put(pending)
                pending = []

        def run() -> None:
            try:
                produce(sink)
                put(pending + batcher.rest())
            finally:
                if not stopped.is_set():
                    put(None)

        start = time.perf_counter()
        reader = loop.run_in_executor(None, run)
        try:
            while (batches := await queue.get()) is not None:
                room.release()
                await pub.send(batches)
        except BaseException:
            stopped.set()
            raise
        await reader  # its exceptions, if any
        stats = await pub.close()
        stats.seconds = time.perf_counter() - start
        return stats
    finally:
        await nc.close()
