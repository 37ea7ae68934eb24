"""The result object every findings-producing command builds, and every renderer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnsec.model.asset import Asset
from cnsec.model.finding import Finding, InputProblem
from cnsec.model.risk import PlanItem, Risk
from cnsec.model.severity import Severity
from cnsec.model.threat import Threat


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a check, detector or RBAC rule is: SARIF rules and the catalog are built from it."""

    id: str
    title: str
    severity: Severity
    description: str = ""
    remediation: str = ""
    threat_ids: tuple[str, ...] = ()
    control_id: str | None = None
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    target: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.label,
            "description": self.description,
            "remediation": self.remediation,
            "threat_ids": list(self.threat_ids),
            "control_id": self.control_id,
            "equivalents": {k: list(v) for k, v in self.equivalents.items()},
            "target": self.target,
        }


@dataclass(slots=True)
class Report:
    """``kind`` names the JSON schema: ``cnsec.<kind>/v1`` (assessment, secrets, rbac-audit)."""

    kind: str
    findings: list[Finding] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    threats: list[Threat] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    plan: list[PlanItem] = field(default_factory=list)
    errors: list[InputProblem] = field(default_factory=list)
    #: inputs left out on purpose (a template that does not load): not errors, but never silent
    skipped: list[InputProblem] = field(default_factory=list)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    #: the ``.cnsec.yaml`` the run read (``None``: none found), so a report says which rules shaped it
    config: str | None = None

    @property
    def schema(self) -> str:
        return f"cnsec.{self.kind}/v1"

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def summary(self) -> dict[str, Any]:
        by_sev = {s.label: 0 for s in sorted(Severity, reverse=True)}
        active = self.active()
        for f in active:
            by_sev[f.severity.label] += 1
        levels: dict[str, int] = {}
        for r in self.risks:
            levels[r.level] = levels.get(r.level, 0) + 1
        return {
            "findings": len(active),
            "suppressed": sum(1 for f in self.findings if f.suppressed),
            "by_severity": by_sev,
            "assets": len(self.assets),
            "risks": len(self.risks),
            "risks_by_level": levels,
            "max_risk": max((r.score for r in self.risks), default=0),
            "errors": len(self.errors),
            **self.stats,
        }

    def worst_active(self) -> Severity | None:
        active = self.active()
        return max((f.severity for f in active), default=None)
