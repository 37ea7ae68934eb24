"""Bounded state: an LRU map that counts what it evicts, so memory follows live keys, not events."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class LRU(OrderedDict[str, V], Generic[V]):
    """At most ``cap`` keys; the least recently used is evicted first and counted in ``evicted``."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        if cap < 1:
            raise ValueError("capacity must be at least 1")
        self.cap = cap
        self.evicted = 0

    def touch(self, key: str) -> V | None:
        v = self.get(key)
        if v is not None:
            self.move_to_end(key)
        return v

    def add_new(self, key: str, value: V) -> None:
        """Insert a key known to be absent (it lands at the most recent end)."""
        self[key] = value
        if len(self) > self.cap:
            self.popitem(last=False)
            self.evicted += 1

    def put(self, key: str, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.cap:
            self.popitem(last=False)
            self.evicted += 1


def evictions(tables: dict[str, Any]) -> dict[str, int]:
    return {name: t.evicted for name, t in sorted(tables.items()) if getattr(t, "evicted", 0)}
