"""A small detector that keeps the Detector contract (feed / snapshot / restore / problems), for the
queue's own semantics. The end-to-end tests use the real one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from cnsec.model.event import Alert
from cnsec.model.severity import Severity


class IdAlert(Alert):
    """An alert with the deterministic id the contract promises."""

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.rule_id}\0{self.key}".encode()).hexdigest()[:32]


class CountingDetector:
    """One alert per value of the event's ``user`` field, counting its events."""

    fingerprint = "counting-v1"

    def __init__(self) -> None:
        self.counts: dict[str, list[float]] = {}
        self.problems: list[str] = []
        self.fed = 0

    def feed(self, lines: Iterable[bytes], source: str | None = None, name: str = "<stream>") -> list[Any]:
        out = []
        for i, line in enumerate(lines):
            self.fed += 1
            try:
                d = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.problems.append(f"{name}:{i + 1}: not JSON")
                continue
            user = str(d.get("user", {}).get("username", "?")) if isinstance(d.get("user"), dict) else "?"
            ts = float(d.get("ts", 1.0))
            c = self.counts.setdefault(user, [0, ts, ts])
            c[0] += 1
            c[2] = ts
            out.append(self._alert(user))
        return out

    def _alert(self, user: str) -> Any:
        n, first, last = self.counts[user]
        return IdAlert("TEST-1", "events by user", Severity.MEDIUM, None, user, first, last, [], int(n))

    def flush(self) -> list[Any]:
        return []

    def snapshot(self) -> bytes:
        return orjson.dumps(self.counts)

    def restore(self, blob: bytes) -> None:
        self.counts = {k: list(v) for k, v in orjson.loads(blob).items()}


def event_list(users: list[str], start: float = 1_800_000_000.0) -> dict[str, Any]:
    return {"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
            "items": [{"kind": "Event", "auditID": f"id-{i}", "verb": "get", "user": {"username": u},
                       "ts": start + i, "objectRef": {"resource": "pods"}} for i, u in enumerate(users)]}
