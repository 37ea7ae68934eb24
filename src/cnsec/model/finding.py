"""Findings: a vulnerability found by a check, a secret found by a detector, a risky RBAC grant.

All pillars produce this one shape so that reports, SARIF, baselines and ``--fail-on`` work the same
everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cnsec.model.severity import Severity
from cnsec.model.source import Source


def finding_id(check_id: str, asset_id: str, location: str = "") -> str:
    """A stable id from (check, asset, location-in-resource), independent of line numbers.

    Baselines and SARIF fingerprints rely on it, so a finding keeps its id when lines move.
    """
    digest = hashlib.sha256(f"{check_id}\x00{asset_id}\x00{location}".encode()).hexdigest()
    return f"{check_id}:{digest[:16]}"


@dataclass(slots=True)
class Finding:
    id: str
    check_id: str
    title: str
    severity: Severity
    asset_id: str
    source: Source
    message: str
    threat_ids: tuple[str, ...] = ()
    remediation: str = ""
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    control_id: str | None = None
    location: str = ""  # path inside the resource, e.g. spec.template.spec.containers[0].image
    patch: list[dict[str, Any]] | None = None  # RFC 6902 JSON-patch ops against the resource
    fix: str | None = None  # a fix in the file's own language (HCL, Dockerfile) where JSON patch does not fit
    suppressed: bool = False
    suppression_reason: str | None = None
    snippet: str | None = None
    #: Extra named facts a pillar reports with the finding (the RBAC audit: subject, permission, binding,
    #: role, rule, scope). Rendered as top-level keys of the JSON finding, never overriding a field above.
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = self._base_dict()
        for key, value in self.attrs.items():
            out.setdefault(key, value)
        return out

    def _base_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check_id": self.check_id,
            "title": self.title,
            "severity": self.severity.label,
            "asset_id": self.asset_id,
            "source": self.source.to_dict(),
            "message": self.message,
            "threat_ids": list(self.threat_ids),
            "remediation": self.remediation,
            "equivalents": {k: list(v) for k, v in self.equivalents.items()},
            "control_id": self.control_id,
            "location": self.location,
            "patch": self.patch,
            "fix": self.fix,
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


@dataclass(frozen=True, slots=True)
class InputProblem:
    """An input that could not be read (or a check that failed on one resource): reported, never fatal."""

    file: str
    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"
