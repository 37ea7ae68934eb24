"""Risks, controls and the mitigation plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Risk:
    """Risk of one threat against one asset: likelihood x impact, scored 0-100."""

    asset_id: str
    threat_id: str
    finding_ids: tuple[str, ...]
    likelihood: float
    impact: float
    score: int
    level: str
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "threat_id": self.threat_id,
            "finding_ids": list(self.finding_ids),
            "likelihood": round(self.likelihood, 3),
            "impact": round(self.impact, 3),
            "score": self.score,
            "level": self.level,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Control:
    """A security control from the control catalog: what to do, in general."""

    id: str
    title: str
    action: str


@dataclass(slots=True)
class PlanItem:
    rank: int
    control_id: str
    title: str
    action: str
    finding_ids: tuple[str, ...]
    risk_reduction: int
    risks_closed: int = 0
    patches: list[dict[str, Any]] = field(default_factory=list)  # [{asset_id, file, line, patch, yaml}]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "control_id": self.control_id,
            "title": self.title,
            "action": self.action,
            "finding_ids": list(self.finding_ids),
            "risk_reduction": self.risk_reduction,
            "risks_closed": self.risks_closed,
            "patches": self.patches,
        }
