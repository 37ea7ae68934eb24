"""The durable queue: one row per accepted request, committed before the request is acknowledged."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from cnsec.serve.errors import ApiError
from cnsec.store import schema


@dataclass
class Queue:
    """Rows waiting (including those processed but not yet covered by a checkpoint). The depth is
    counted here, not with a query per request: a full queue is refused with 503 and Retry-After."""

    engine: Engine
    max_batches: int
    depth: int = 0
    #: set on every put; the worker waits on it (a threading.Event, or a multiprocessing one when the
    #: worker is a process of its own)
    wake: Any = field(default_factory=threading.Event)
    #: with a worker process: a shared counter of rows it has deleted (multiprocessing.Value)
    removed_counter: Any = None
    _removed_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _sync(self) -> None:
        if self.removed_counter is not None:
            removed = int(self.removed_counter.value)
            self.depth = max(0, self.depth - (removed - self._removed_seen))
            self._removed_seen = removed

    def load_depth(self) -> None:
        with self.engine.connect() as conn:
            self.depth = int(conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar() or 0)
        if self.removed_counter is not None:
            self._removed_seen = int(self.removed_counter.value)

    def put(self, kind: str, lines: list[bytes], received_at: float) -> int:
        """Commit the batch; its queue seq. Refused when full (the client retries later)."""
        return self.put_groups([(kind, lines)], received_at)

    def put_groups(self, groups: list[tuple[str, list[bytes]]], received_at: float) -> int:
        """Commit one request's batches (one row per kind) in one transaction: all or none; the last seq."""
        n = len(groups)
        with self._lock:
            self._sync()
            if self.depth >= self.max_batches:
                raise ApiError(503, f"the ingest queue is full ({self.depth} batches waiting): retry later",
                               code="queue_full", headers={"Retry-After": "2"})
            self.depth += n
        seq = 0
        try:
            with self.engine.begin() as conn:
                for kind, lines in groups:
                    seq = conn.execute(insert(schema.serve_ingest_queue).values(
                        kind=kind, received_at=received_at, events=len(lines), payload=b"\n".join(lines))
                        .returning(schema.serve_ingest_queue.c.seq)).scalar_one()
        except BaseException:
            with self._lock:
                self.depth -= n
            raise
        self.wake.set()
        return int(seq)

    def removed(self, n: int) -> None:
        """The worker deleted ``n`` rows (in the worker process: counted for the server process)."""
        if self.removed_counter is not None:  # the worker process is its only writer
            self.removed_counter.value += n
            return
        with self._lock:
            self.depth = max(0, self.depth - n)
