"""The detection worker: queued batches, in order, through the detector, into stored alerts.

One thread per server process. Each pass takes the rows after the last one fed, feeds them, and in
one transaction upserts the alerts they changed — with their absolute count, last-seen and evidence,
so writing an alert twice writes the same thing. Every ``checkpoint_every`` seconds the same
transaction also stores the detector's snapshot with the seq it reflects and deletes the rows up to
it. After a crash the snapshot is restored and the rows after its seq are fed again: the alerts they
make carry the same ids and end with the same values. A failed transaction (database gone) restores
the last stored snapshot the same way and retries with back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from cnsec.serve.ingest.parse import SOURCE
from cnsec.serve.ingest.queue import Queue
from cnsec.store import schema

log = logging.getLogger("cnsec.serve.ingest")

#: Rows taken per pass (each up to a webhook batch of events): bounds memory and transaction size.
ROWS_PER_PASS = 16
#: A checkpoint waits at least this many times as long as the last snapshot took. The snapshot holds the
#: correlator's reorder buffer (every hit of the last ``lateness`` seconds of event time), so its cost
#: grows with the event rate: at 20,000 events/s it took seconds, and a fixed 2 s interval left the
#: worker doing nothing but snapshots (measured: 94% of its time). A crash replays the rows since the
#: last checkpoint, so a longer interval costs only replay time.
CHECKPOINT_COST_FACTOR = 10.0
STATE_ID = 1


_UPSERTS: dict[tuple[Any, ...], Any] = {}


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keep: tuple[str, ...],
            *, grow_only: str | None = None) -> None:
    """INSERT … ON CONFLICT (id) DO UPDATE every column but ``keep`` (what people set: status, assignee).
    ``grow_only``: a column the update must raise (a stored row with as much or more is left as it is).

    One statement, built once per table and dialect, executed with many parameter sets (the driver's
    executemany): a multi-VALUES statement would be compiled anew for every batch, and compiling one with
    thousands of rows cost more than detecting their events (measured: 3.8 of 24 s)."""
    import importlib

    columns = tuple(rows[0])
    key = (conn.dialect.name, table.name, columns, keep, grow_only)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        dialect: Any = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
        ins = dialect.insert(table)
        where = table.c[grow_only] < ins.excluded[grow_only] if grow_only else None
        stmt = _UPSERTS[key] = ins.on_conflict_do_update(index_elements=[table.c.id], where=where, set_={
            c: ins.excluded[c] for c in columns if c not in keep and c != "id"})
    conn.execute(stmt, rows)


def alert_row(alert: Any, now: float) -> dict[str, Any]:
    data = alert.to_dict()
    data["id"] = alert.id
    return {"id": alert.id, "rule": alert.rule_id, "title": alert.title, "severity": alert.severity.label,
            "key": alert.key or "", "first_seen": alert.first_seen, "last_seen": alert.last_seen,
            "count": alert.count, "status": "open", "stored_at": now, "updated_at": now,
            "data": orjson.dumps(data, default=str).decode()}


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def record_row(update: dict[str, Any], now: float) -> dict[str, Any]:
    """:func:`alert_row` of an alert update as the bus carries it (``cnsec.detect.alert_record``'s
    shape: the id, then ``cnsec detect -f jsonl``'s fields, times in RFC 3339)."""
    return {"id": str(update["id"]), "rule": str(update["rule_id"]), "title": str(update["title"]),
            "severity": str(update["severity"]), "key": str(update.get("key") or ""),
            "first_seen": _epoch(update["first_seen"]), "last_seen": _epoch(update["last_seen"]),
            "count": int(update["count"]), "status": "open", "stored_at": now, "updated_at": now,
            "data": orjson.dumps(update, default=str).decode()}


def store_updates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Upsert alert rows of absolute state: what people set is kept, and the highest count wins (an
    update delivered again, or late after a newer one, changes nothing)."""
    _upsert(conn, schema.serve_alerts, rows, keep=("status", "assignee", "stored_at"), grow_only="count")


class Worker:
    def __init__(self, engine: Any, queue: Queue, factory: Callable[[], Any], *,
                 checkpoint_every: float = 2.0, clock: Callable[[], float] = time.time,
                 on_stored: Callable[[int, int], None] | None = None,
                 after_pass: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.queue = queue
        #: makes the detector: a :class:`cnsec.detect.Detector` or one like it (``fingerprint``: what
        #: its state means; a snapshot stored under another is not restored)
        self.factory = factory
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self.on_stored = on_stored  # (events fed, alerts written) after each commit: metrics
        self.after_pass = after_pass  # after each pass that fed rows (the worker process: the collector)
        self.detector: Any = None
        self.seq = 0  # the last queue seq fed to the detector
        self.checkpointed = 0  # the seq of the stored snapshot
        self.events = 0  # events fed in all (as of self.seq)
        self.events_checkpointed = 0
        self.last_checkpoint = 0.0
        self.snapshot_seconds = 0.0  # how long the last snapshot took (the next waits ten times that)
        self.problems_seen = 0
        self._stop: Any = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    # -- state ----------------------------------------------------------------------------------------
    def restore(self) -> None:
        """The detector as of the stored snapshot (a fresh one when there is none or its rules changed)."""
        t = schema.serve_detector_state
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.seq, t.c.snapshot, t.c.rules, t.c.events)
                               .where(t.c.id == STATE_ID)).first()
        det = self.factory()
        seq = events = 0
        if row is not None:
            seq, events = int(row.seq), int(row.events)
            if row.rules == det.fingerprint:
                try:
                    det.restore(bytes(row.snapshot))
                except Exception as exc:  # a snapshot of another cnsec version: start clean, say so
                    log.warning("ingest: the stored detector state cannot be restored (%s): detection restarts "
                                "with empty windows from queue seq %d", exc, seq)
                    det = self.factory()
            else:
                log.warning("the rules or detection settings changed since the last checkpoint: detection restarts "
                            "with empty windows from queue seq %d", seq)
        self.detector, self.seq, self.checkpointed = det, seq, seq
        self.events = self.events_checkpointed = events

    def _checkpoint(self, conn: Connection, now: float, snapshot: bytes) -> int:
        t = schema.serve_detector_state
        values = {"id": STATE_ID, "seq": self.seq, "snapshot": snapshot, "rules": self.detector.fingerprint,
                  "events": self.events, "updated_at": now}
        _upsert(conn, t, [values], keep=())
        gone = conn.execute(delete(schema.serve_ingest_queue)
                            .where(schema.serve_ingest_queue.c.seq <= self.seq)).rowcount
        return int(gone or 0)

    # -- one pass ---------------------------------------------------------------------------------------
    def step(self, *, force_checkpoint: bool = False) -> int:
        """Feed the next rows and store what they changed; the number of rows fed (0: nothing waiting)."""
        q = schema.serve_ingest_queue
        if self.detector is None:
            with self.engine.connect() as conn:  # the rules are loaded once there is something to feed
                if conn.execute(select(q.c.seq).limit(1)).first() is None:
                    return 0
            self.restore()
        with self.engine.connect() as conn:
            rows = conn.execute(select(q.c.seq, q.c.kind, q.c.payload).where(q.c.seq > self.seq)
                                .order_by(q.c.seq).limit(ROWS_PER_PASS)).all()
        now = self.clock()
        interval = max(self.checkpoint_every, CHECKPOINT_COST_FACTOR * self.snapshot_seconds)
        due = force_checkpoint or (now - self.last_checkpoint >= interval)
        if not rows and not (due and self.seq > self.checkpointed):
            return 0
        updates: dict[str, Any] = {}
        events = 0
        last = self.seq
        for row in rows:
            lines = bytes(row.payload).split(b"\n")
            events += len(lines)
            # one stream per kind (not per row: the detector keeps each stream's reading state)
            for alert in self.detector.feed(lines, source=SOURCE.get(row.kind), name=f"ingest-{row.kind}"):
                updates[alert.id] = alert
            self._report_problems(int(row.seq))
            last = int(row.seq)
        # everything but the writes is made before the transaction: SQLite has one writer at a time, and
        # the server's queue inserts (the requests being acknowledged) wait while this one writes
        rows_out = [alert_row(a, now) for a in updates.values()]
        snapshot = b""
        if due:
            started = time.perf_counter()
            snapshot = self.detector.snapshot()
            self.snapshot_seconds = time.perf_counter() - started
        try:
            with self.engine.begin() as conn:
                if rows_out:
                    _upsert(conn, schema.serve_alerts, rows_out, keep=("status", "assignee", "stored_at"))
                self.seq, self.events = last, self.events + events
                removed = self._checkpoint(conn, now, snapshot) if due else 0
        except Exception:
            self.seq, self.events = self.checkpointed, self.events_checkpointed
            self.detector = None  # restored from the stored snapshot on the next pass
            raise
        if due:
            self.checkpointed, self.events_checkpointed, self.last_checkpoint = self.seq, self.events, now
            self.queue.removed(removed)
        if self.on_stored is not None:
            self.on_stored(events, len(updates))
        if self.after_pass is not None and rows:
            self.after_pass()
        return len(rows)

    def _report_problems(self, seq: int) -> None:
        """The last feed's problems (an unreadable line, a rule that raised): logged, never fatal."""
        for p in getattr(self.detector, "problems", []):
            self.problems_seen += 1
            log.warning("ingest: queue row %d: %s", seq, p)

    def drain(self) -> None:
        """Feed everything waiting and checkpoint (tests, shutdown)."""
        while self.step():
            pass
        self.step(force_checkpoint=True)

    # -- the loop ---------------------------------------------------------------------------------------
    def run_until(self, stop: Any, alive: Any = None) -> None:
        """Feed until ``stop`` is set (an Event), or ``alive()`` says the server is gone."""
        self._stop = stop
        self._run(alive)

    def _run(self, alive: Any = None) -> None:
        backoff = 0.1
        while not self._stop.is_set() and (alive is None or alive()):
            try:
                fed = self.step()
                backoff, self.failures = 0.1, 0
            except Exception as exc:  # the database went away: keep the events, retry
                self.failures += 1
                log.error("ingest: storing alerts failed (%s: %s); retrying in %.1f s", type(exc).__name__,
                          str(exc).splitlines()[0][:200] if str(exc) else "", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not fed:
                self.queue.wake.wait(0.25)
                self.queue.wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cnsec-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.queue.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.step(force_checkpoint=True)
        except Exception as exc:
            log.error("ingest: final checkpoint failed (%s); the queue is replayed at next start", exc)
