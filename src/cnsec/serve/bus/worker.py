"""A bus worker: takes partitions by lease, runs the detector over each in stream order, publishes alert
updates, checkpoints, parks poison events; a dead worker's partitions move to the live ones.

Exactly-once alerts come from three things together:

* order and state: a partition is read through one durable pull consumer, in stream order; each
  delivery's consumer sequence must follow the last one, otherwise deliveries were lost on the way
  (a dropped connection, a restarted server) and the consumer is re-created from the last sequence
  the state reflects. Deliveries at or below that sequence are skipped;
* checkpoints: the detector's snapshot and the stream sequence it reflects are written as one object,
  only after every alert update and dead letter of those events is stored; the messages are then
  acknowledged. A worker taking a partition over restores the checkpoint and replays the rest;
* de-duplication: the alert updates one event message caused go out together, in messages named
  ``Nats-Msg-Id = a<events stream incarnation>.<partition>.<the event message's stream sequence>.<part>``
  (the incarnation: :func:`~cnsec.serve.bus.config.events_incarnation`). The detector's updates
  are the same for the same state and events (which alerts, in which order, which carry evidence),
  so a replay from a checkpoint sends the very messages the dead worker sent, and the stream stores
  them once (within its de-duplication window; past it, the same id and count still fold to one
  alert).

Poison: an event the detector names as a problem (unparseable, a rule that raised and was caught) is
parked in the dead-letter subject at once, with the reason. A message whose feeding raises is fed
again from the last checkpoint (the state rolled back, so nothing counts twice) up to ``max_deliver``
times; then its events are fed one by one and the one that raises is parked, the rest go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from cnsec.report.safe import one_line
from cnsec.serve.bus.codec import BadMessage, Group, decode
from cnsec.serve.bus.config import (
    CHECKPOINTS,
    EVENTS,
    LEASES,
    BusConfig,
    alerts_subject,
    connect,
    dead_subject,
    ensure_bus,
    events_incarnation,
    events_subject,
    of_stream,
)
from cnsec.serve.bus.lease import Leases
from cnsec.serve.bus.processor import AlertUpdate, Processor
from cnsec.serve.bus.publisher import MESSAGE_ROOM, Outbox, largest_message
from cnsec.serve.collector import Freezer

CHECKPOINT_VERSION = 1
#: checkpoint objects are written in chunks this big (one round trip each; under the default 1 MiB
#: maximum message size)
CHUNK = 512 * 1024
#: alert updates go in messages of at most this many bytes (under the default 1 MiB maximum)
ALERT_PART = 512 * 1024
Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"cnsec: bus: {one_line(message)}", file=sys.stderr, flush=True)


class _Resync(Exception):
    """Deliveries were lost on the way: re-create the consumer from the state's sequence."""


class _LostLease(Exception):
    """Someone else holds the partition now."""


class Partition:
    """One partition worked by this worker: its detector, its consumer, its checkpoint."""

    def __init__(self, worker: Worker, number: int) -> None:
        self.worker = worker
        self.number = number
        self.cfg = worker.cfg
        self.js = worker.js
        #: alert updates and dead letters; ordered (one lane per subject): a reader sees an alert's
        #: versions in the order they were made, the one that brought its evidence before later ones
        self.outbox = Outbox(worker.js, max_inflight=256, ordered=True)
        self.proc: Processor = worker.make_processor()
        self.seq = 0  # the last stream sequence the state reflects
        #: the events stream that sequence is in (events_incarnation); None: not known yet, taken
        #: from the stream when it is first read
        self.incarnation: str | None = None
        self._head: dict[str, Any] | None = None  # the restored checkpoint's header, until compared
        self.checkpoint_blob: bytes | None = None
        self.since_checkpoint: list[tuple[int, list[Group]]] = []  # what the state holds beyond it
        self.last_msg: Any = None
        self.last_cs = 0
        self.sub: Any = None
        self.stopping = False
        self.events = 0
        self.dead = 0
        self.resyncs = 0
        self._checkpoint_at = time.monotonic()

    # ---------------------------------------------------------------- the loop
    async def run(self) -> None:
        log = self.worker.log
        await self._restore()
        log(f"partition {self.number}: taken (from sequence {self.seq + 1})")
        while not self.stopping:
            try:
                if self.sub is None:
                    await self._subscribe()
                try:
                    msgs = await self.sub.fetch(self.cfg.fetch_batch, timeout=0.5)
                except TimeoutError:
                    msgs = []
                for msg in msgs:
                    await self._handle(msg)
                    self.worker.collector.after_pass()  # the alerts it keeps leave the collector's sight
                    await asyncio.sleep(0)  # feeding is CPU work: leases are renewed meanwhile
                if self.since_checkpoint and (
                        len(self.since_checkpoint) >= self.cfg.checkpoint_messages
                        or time.monotonic() - self._checkpoint_at >= self.cfg.checkpoint_seconds):
                    await self.checkpoint()
            except _Resync:
                self.resyncs += 1
                await self._drop_sub()
            except _LostLease:
                log(f"partition {self.number}: lease lost, let go")
                self.stopping = True
                self.worker.lost(self.number)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server away or restarting: wait, then resync
                if self.stopping:
                    break
                log(f"partition {self.number}: {type(exc).__name__}: {exc}; retrying")
                await self._drop_sub()
                await asyncio.sleep(0.5)
        await self._drop_sub()

    async def _subscribe(self) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        durable = f"p{self.number}"
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(EVENTS, durable)
        conf = ConsumerConfig(
            durable_name=durable, filter_subject=events_subject(self.number), ack_policy=AckPolicy.ALL,
            ack_wait=max(30.0, 10 * self.cfg.checkpoint_seconds), max_deliver=-1, max_ack_pending=-1,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if self.seq else DeliverPolicy.ALL,
            opt_start_seq=self.seq + 1 if self.seq else None)
        await self.js.add_consumer(EVENTS, conf)
        self.sub = await self.js.pull_subscribe_bind(durable=durable, stream=EVENTS)
        self.last_cs = 0
        # which stream the consumer reads, asked once it is bound (one round trip a subscription): a
        # stream made again since the state's sequence (or meanwhile) is read again from its start
        at = self.seq
        self._same_stream(await events_incarnation(self.js))
        if self.seq != at:
            raise _Resync

    def _same_stream(self, incarnation: str) -> None:
        """The events stream was deleted and made again since the state's sequence: the new one's
        sequences start at 1 and are all new events. The state (its alerts) is kept, as when a
        checkpoint is taken up, and the partition is read from the stream's start. A checkpoint
        that does not name its stream (written before incarnations) is the stream's unless it is
        older than the stream."""
        if self.incarnation is None:  # the first look at the stream: is the checkpoint's of it?
            head, self._head = self._head, None
            self.incarnation = (incarnation if head is None or of_stream(head, incarnation)
                                else str(head.get("events", "older")))
        if incarnation != self.incarnation:
            if self.seq:
                self.worker.log(f"partition {self.number}: the events stream was made again since sequence "
                                f"{self.seq} (incarnation {self.incarnation}, now {incarnation}): read from its "
                                f"start, the alerts so far kept")
            self.seq = 0
            self.incarnation = incarnation

    async def _drop_sub(self) -> None:
        sub, self.sub = self.sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _handle(self, msg: Any) -> None:
        meta = msg.metadata
        cs, ss = meta.sequence.consumer, meta.sequence.stream
        if cs != self.last_cs + 1:
            raise _Resync
        self.last_cs = cs
        if ss <= self.seq:
            return  # already in the state (a redelivery)
        dead: list[dict[str, Any]] = []
        try:
            groups = decode(msg.data)
        except BadMessage as exc:
            dead.append(self._dead(ss, "json", "(message)", 0, msg.data, str(exc), 1))
            groups = []
        updates, fed = self._feed(ss, groups, dead)
        self.seq = ss
        self.last_msg = msg
        self.since_checkpoint.append((ss, fed))
        if updates:
            await self._send_alerts(ss, updates)
        for doc in dead:
            self.dead += 1
            await self.outbox.send(dead_subject(self.number), orjson.dumps(doc),
                                   f"dead:{self.incarnation}:{self.number}:{ss}:{doc['origin']}")

    async def _send_alerts(self, ss: int, updates: Sequence[AlertUpdate]) -> None:
        """The updates event message ``ss`` caused, one JSON update a line, in messages of at most
        :data:`ALERT_PART` bytes (an update larger than that goes alone). One message per event
        message, not one per update: a JetStream publish and its acknowledgement cost more than
        the update (it was a sixth of a worker's CPU). The parts are cut the same way in every
        process (the same updates in the same order), so their ids name the same content."""
        subject = alerts_subject(self.number)
        limit = largest_message(self.worker.nc) - MESSAGE_ROOM
        part: list[bytes] = []
        size = k = 0
        for u in updates:
            line = u.to_json(limit)
            if part and size + len(line) > ALERT_PART:
                await self.outbox.send(subject, b"\n".join(part), f"a{self.incarnation}.{self.number}.{ss}.{k}")
                part, size, k = [], 0, k + 1
            part.append(line)
            size += len(line) + 1
        await self.outbox.send(subject, b"\n".join(part), f"a{self.incarnation}.{self.number}.{ss}.{k}")

    # ---------------------------------------------------------------- feeding, poison
    def _feed(self, ss: int, groups: list[Group],
              dead: list[dict[str, Any]]) -> tuple[Sequence[AlertUpdate], list[Group]]:
        """Feed one message's events: the alert updates (the latest version of each alert) and the
        groups that went into the state (poison left out, added to ``dead``)."""
        try:
            for source, name, lines in groups:
                self.proc.feed(lines, source, name)
            updates = self.proc.updates()
            fed = groups
        except Exception as exc:
            updates, fed = self._poisoned(ss, groups, exc, dead)
        self.events += sum(len(g[2]) for g in fed)
        problems = self.proc.problems
        if problems:  # named by the detector (unparseable, a rule that raised): parked at once
            where = {(name, line): (source, raw) for source, name, lines in fed for line, raw in lines}
            for p in problems:
                source, raw = where.get((p.file, p.line), ("json", b""))
                dead.append(self._dead(ss, source, p.file, p.line or 0, raw, p.message, 1))
            problems.clear()
        return updates, fed

    def _poisoned(self, ss: int, groups: list[Group], exc: Exception,
                  dead: list[dict[str, Any]]) -> tuple[Sequence[AlertUpdate], list[Group]]:
        """``groups`` raised: feed them again from the last checkpoint (the state rolled back) up to
        ``max_deliver`` times in all, then event by event, parking each event that raises."""
        for _attempt in range(2, self.cfg.max_deliver + 1):
            self._rollback([])
            try:
                for source, name, lines in groups:
                    self.proc.feed(lines, source, name)
                return self.proc.updates(), groups
            except Exception:  # noqa: S112 - counted: the next delivery or the isolation below
                continue
        self._rollback([])
        good: list[Group] = []
        n = self.cfg.max_deliver
        for source, name, lines in groups:
            for line, raw in lines:
                try:
                    self.proc.feed([(line, raw)], source, name)
                except Exception as bad:
                    why = f"feeding raised {n} time(s): {type(bad).__name__}: {bad}"
                    dead.append(self._dead(ss, source, name, line, raw, why, n))
                    self._rollback(good)
                    continue
                if good and good[-1][0] == source and good[-1][1] == name:
                    good[-1][2].append((line, raw))
                else:
                    good.append((source, name, [(line, raw)]))
        return self.proc.updates(), good

    def _rollback(self, extra: list[Group]) -> None:
        """The state as of the last checkpoint plus the messages fed since (and ``extra``)."""
        proc = self.worker.make_processor()
        if self.checkpoint_blob is not None:
            proc.restore(self.checkpoint_blob)
        for _ss, groups in self.since_checkpoint:
            for source, name, lines in groups:
                proc.feed(lines, source, name)
        proc.updates()  # sent when first fed; what ``extra`` (this message's events) causes is not
        for source, name, lines in extra:
            proc.feed(lines, source, name)
        proc.problems.clear()  # named already when first fed
        self.proc = proc

    def _dead(self, ss: int, source: str, name: str, line: int, raw: bytes, reason: str,
              deliveries: int) -> dict[str, Any]:
        return {"reason": reason, "origin": f"{name}:{line}" if line else name, "source": source,
                "partition": self.number, "stream_seq": ss, "deliveries": deliveries,
                "event": raw.decode("utf-8", "replace")}

    # ---------------------------------------------------------------- checkpoints
    async def _restore(self) -> None:
        from nats.js.errors import NotFoundError

        obs = self.worker.checkpoints
        try:
            obj = await obs.get(f"p{self.number}")
        except NotFoundError:
            return
        data = obj.data or b""
        head, _, blob = data.partition(b"\n")
        meta = orjson.loads(head)
        if meta.get("v") != CHECKPOINT_VERSION or meta.get("partition") != self.number:
            raise ValueError(f"partition {self.number}: checkpoint of another version or partition")
        self.proc.restore(blob)
        self.checkpoint_blob = blob
        self.seq = int(meta["seq"])
        self.incarnation = None  # compared with the stream's when it is first read (_subscribe)
        self._head = meta

    async def checkpoint(self) -> None:
        """Alerts and dead letters stored, then the snapshot with its sequence, then the ack."""
        await self.outbox.drain()
        blob = self.proc.snapshot()
        if not await self.worker.leases.renew(self.number):
            raise _LostLease
        head = orjson.dumps({"v": CHECKPOINT_VERSION, "partition": self.number, "seq": self.seq,
                             "events": self.incarnation, "worker": self.worker.id, "time": time.time()})
        from nats.js.api import ObjectMeta, ObjectMetaOptions

        # the header again as the object's description: how far a partition is can be read without
        # fetching its snapshot (status.lag)
        meta = ObjectMeta(name=f"p{self.number}", description=head.decode(),
                          options=ObjectMetaOptions(max_chunk_size=CHUNK))
        await self.worker.checkpoints.put(meta.name or "", head + b"\n" + blob, meta=meta)
        self.checkpoint_blob = blob
        self.since_checkpoint.clear()
        self._checkpoint_at = time.monotonic()
        msg, self.last_msg = self.last_msg, None
        if msg is not None:
            with contextlib.suppress(Exception):  # the consumer may be gone (resync): the checkpoint holds
                await msg.ack()

    async def stop(self, save: bool) -> None:
        self.stopping = True
        if save and self.since_checkpoint:
            with contextlib.suppress(_LostLease):
                await self.checkpoint()


class Worker:
    """Runs partitions of the bus until told to stop (SIGTERM, SIGINT: checkpoint and hand over)."""

    def __init__(self, cfg: BusConfig, make_processor: Callable[[], Processor], *,
                 worker_id: str | None = None, log: Log = _stderr) -> None:
        self.cfg = cfg
        self.make_processor = make_processor
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.log = log
        self.js: Any = None
        self.nc: Any = None
        self.leases: Leases
        self.checkpoints: Any = None
        self.partitions = 0
        self.running: dict[int, tuple[Partition, asyncio.Task[None]]] = {}
        self._stop = asyncio.Event()
        self.collector = Freezer()

    def lost(self, partition: int) -> None:
        self.running.pop(partition, None)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self.nc = await connect(self.cfg, reconnected_cb=self._reconnected)
        try:
            self.js = self.nc.jetstream()
            self.partitions = await ensure_bus(self.js, self.cfg)
            self.leases = Leases(await self.js.key_value(LEASES), self.id)
            self.checkpoints = await self.js.object_store(CHECKPOINTS)
            self.log(f"worker {self.id}: {self.partitions} partitions on {self.cfg.url}")
            # announced, then a moment before taking partitions: workers started together see each
            # other and take their shares at once, instead of the first taking every partition and
            # handing half back (a checkpoint and a takeover each) a few seconds later; Kafka's
            # consumer groups wait for the same reason (group.initial.rebalance.delay.ms)
            await self.leases.heartbeat()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.cfg.join_delay)
            while not self._stop.is_set():
                try:
                    await self._balance()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.log(f"worker {self.id}: {type(exc).__name__}: {exc}; retrying")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.cfg.lease_ttl / 5)
            for number in list(self.running):
                await self._let_go(number, save=True)
            with contextlib.suppress(Exception):
                await self.leases.leave()
        finally:
            await self.nc.close()

    async def _reconnected(self) -> None:
        for part, _task in self.running.values():
            part.sub = None  # the consumer is re-created from the state's sequence

    async def _balance(self) -> None:
        """Renew what we hold, take free partitions up to our share, hand back what is beyond it."""
        held = list(self.running)
        kept = await asyncio.gather(*(self.leases.renew(n) for n in held))  # first, and all at once
        for number, ok in zip(held, kept):
            if not ok:
                self.log(f"partition {number}: lease lost, let go")
                await self._let_go(number, save=False)
        workers = await self.leases.heartbeat()
        for number, (_part, task) in list(self.running.items()):
            if task.done():  # ended on its own (lease lost inside): forget it
                self.running.pop(number, None)
                await self.leases.release(number)
        share = self.leases.share(self.partitions, workers)
        start = sum(map(ord, self.id)) % self.partitions  # workers start looking at different places
        for i in range(self.partitions):
            if len(self.running) >= share:
                break
            number = (start + i) % self.partitions
            if number not in self.running and await self.leases.acquire(number):
                part = Partition(self, number)
                self.running[number] = (part, asyncio.create_task(part.run()))
        while len(self.running) > share:
            number = max(self.running)
            await self._let_go(number, save=True)

    async def _let_go(self, number: int, save: bool) -> None:
        entry = self.running.pop(number, None)
        if entry is None:
            return
        part, task = entry
        part.stopping = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), 5.0)
        if not task.done():
            task.cancel()
        with contextlib.suppress(Exception):
            await part.stop(save)
        await self.leases.release(number)
        self.log(f"partition {number}: handed back ({part.events} events, {part.dead} dead-lettered)")


async def run_worker(cfg: BusConfig, make_processor: Callable[[], Processor], *,
                     worker_id: str | None = None, log: Log = _stderr) -> None:
    """``cnsec detect --bus URL --worker``: work partitions until SIGTERM or SIGINT."""
    worker = Worker(cfg, make_processor, worker_id=worker_id, log=log)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, worker.stop)
    await worker.run()
