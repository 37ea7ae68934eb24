"""The durable queue: one row per accepted request, committed before the request is acknowledged."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
    wake: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load_depth(self) -> None:
        with self.engine.connect() as conn:
            self.depth = int(conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar() or 0)

    def put(self, kind: str, lines: list[bytes], received_at: float) -> int:
        """Commit the batch; its queue seq. Refused when full (the client retries later)."""
        with self._lock:
            if self.depth >= self.max_batches:
                raise ApiError(503, f"the ingest queue is full ({self.depth} batches waiting): retry later",
                               code="queue_full", headers={"Retry-After": "2"})
            self.depth += 1
        try:
            with self.engine.begin() as conn:
                seq = conn.execute(insert(schema.serve_ingest_queue).values(
                    kind=kind, received_at=received_at, events=len(lines), payload=b"\n".join(lines))
                    .returning(schema.serve_ingest_queue.c.seq)).scalar_one()
        except BaseException:
            with self._lock:
                self.depth -= 1
            raise
        self.wake.set()
        return int(seq)

    def removed(self, n: int) -> None:
        with self._lock:
            self.depth = max(0, self.depth - n)
