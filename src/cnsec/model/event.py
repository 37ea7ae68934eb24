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


@dataclass(slots=True)
class Alert:
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
