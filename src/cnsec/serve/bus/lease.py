"""Partition ownership by lease: a key per partition in a KV bucket whose entries expire (TTL).

A worker takes a free partition with ``create`` (fails if someone holds it) and keeps it by ``update``
with the revision it last wrote (compare-and-set): if that fails, someone else holds the partition now
and this worker lets it go. A worker that dies stops renewing; its keys expire after the TTL and the
others take its partitions over. Live workers announce themselves the same way (``w.<id>``), so each
knows its fair share (partitions / live workers) and a new worker gets partitions handed over.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any


class Leases:
    def __init__(self, kv: Any, worker_id: str) -> None:
        self.kv = kv
        self.worker_id = worker_id
        self.held: dict[int, int] = {}  # partition -> revision of our last write

    async def heartbeat(self) -> int:
        """Announce this worker; returns how many workers are alive (this one included)."""
        from nats.js.errors import NoKeysError

        await self.kv.put(f"w.{self.worker_id}", b"1")
        try:
            keys = await self.kv.keys()
        except NoKeysError:
            return 1
        return max(1, sum(1 for k in keys if k.startswith("w.")))

    def share(self, partitions: int, workers: int) -> int:
        return math.ceil(partitions / max(1, workers))

    async def acquire(self, partition: int) -> bool:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            self.held[partition] = await self.kv.create(f"p.{partition}", self.worker_id.encode())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def renew(self, partition: int) -> bool:
        """Keep ``partition``; False if it is no longer ours (expired and taken, or never held)."""
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        rev = self.held.get(partition)
        if rev is None:
            return False
        try:
            self.held[partition] = await self.kv.update(f"p.{partition}", self.worker_id.encode(), last=rev)
        except KeyWrongLastSequenceError:
            # our own write may have landed with its acknowledgement lost (a restarted server): the
            # key still names us, at a revision we did not see
            try:
                entry = await self.kv.get(f"p.{partition}")
            except KeyNotFoundError:
                entry = None
            if entry is None or entry.value != self.worker_id.encode() or entry.revision is None:
                self.held.pop(partition, None)
                return False
            self.held[partition] = entry.revision
            return await self.renew(partition)
        return True

    async def release(self, partition: int) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        rev = self.held.pop(partition, None)
        if rev is None:
            return
        with contextlib.suppress(KeyWrongLastSequenceError):  # already someone else's
            await self.kv.delete(f"p.{partition}", last=rev)

    async def leave(self) -> None:
        for p in list(self.held):
            await self.release(p)
        with contextlib.suppress(Exception):  # leaving: the key expires anyway
            await self.kv.delete(f"w.{self.worker_id}")
