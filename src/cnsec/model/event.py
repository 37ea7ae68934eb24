"""Events, signs and alerts: the detect & respond half of the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnsec.model.severity import Severity


@dataclass(slots=True)
class Event:
    """One normalized observation. ``data`` keeps the original fields (rules match on them)."""

    source: str  # k8s-audit, cloudtrail, gcp-audit, falco, metrics, access-log, json
    timestamp: float  # epoch seconds, UTC
    data: dict[str, Any]
    origin: str = ""  # file:line it came from


@dataclass(frozen=True, slots=True)
class Sign:
    """Something observable that reveals a threat: a rule match or a metric condition over a window."""

    id: str
    description: str
    rule_id: str | None = None
    metric: str | None = None


def alert_id(rule_id: str, key: str, opened: float) -> str:
    """The deterministic id of the alert ``rule_id`` raised for ``key`` in the window its hit at
    ``opened`` (event time) opened: equal in every process and run that saw the same events, so a
    redelivered event updates the alert it already made instead of making a second one."""
    from hashlib import blake2b

    return blake2b(f"{rule_id}\x1f{key}\x1f{opened!r}".encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Alert:
    """Hits of one rule on one key within a window. ``opened`` is the event time of the hit that opened
    it (``first_seen`` may move earlier when an earlier event arrives late); with the rule and key it
    makes :attr:`id`. Not in :meth:`to_dict`: ``cnsec detect`` output is unchanged by it."""

    rule_id: str
    title: str
    severity: Severity
    threat_id: str | None
    key: str
    first_seen: float
    last_seen: float
    evidence: list[dict[str, Any]] = field(default_factory=list)
    count: int = 1
    action: str | None = None
    attack_ids: tuple[str, ...] = ()
    opened: float | None = None

    @property
    def id(self) -> str:
        """:func:`alert_id` of the window this alert opened (``first_seen`` for an alert made elsewhere,
        e.g. read back from jsonl)."""
        return alert_id(self.rule_id, self.key, self.first_seen if self.opened is None else self.opened)

    def to_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")

        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.label,
            "threat_id": self.threat_id,
            "key": self.key,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "action": self.action,
            "attack_ids": list(self.attack_ids),
            "evidence": self.evidence,
        }
