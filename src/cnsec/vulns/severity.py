"""An advisory's severity: its CVSS vectors scored (the ``cvss`` library), else the label it carries.

Order: CVSS vectors on the record, then on its affected entries (highest score wins); then the
database's own label (GHSA's LOW/MODERATE/HIGH/CRITICAL); then a bare numeric score (converted
RubySec records). With none of those the severity is unknown: the record keeps that, and a finding
on it is reported as medium with ``severity_source: "none"`` (docs/vulns.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnsec.model.severity import Severity


@dataclass(frozen=True, slots=True)
class Scored:
    label: str | None  # critical/high/medium/low/info, None when unknown
    score: float | None
    vector: str | None
    source: str  # cvss_v4 / cvss_v3 / cvss_v2 / label / score / none / unscorable


def band(score: float) -> str:
    """CVSS v3/v4 qualitative bands (v2 scores are banded the same way, as NVD does for v3)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"


def score_vector(kind: str, vector: str) -> float | None:
    """The base score of a CVSS vector, or None when the library cannot read it."""
    try:
        if kind == "CVSS_V4":
            from cvss import CVSS4

            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            from cvss import CVSS3

            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V2":
            from cvss import CVSS2

            return float(CVSS2(vector).base_score)
    except Exception:  # the library raises its own errors (and KeyError/ValueError) on a bad vector
        return None
    return None


_LABELS = {"critical": "critical", "high": "high", "moderate": "medium", "medium": "medium",
           "low": "low", "none": "info", "info": "info"}


def _vectors(record: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    holders = [record, *[a for a in record.get("affected") or () if isinstance(a, dict)]]
    for holder in holders:
        for entry in holder.get("severity") or ():
            if isinstance(entry, dict) and isinstance(entry.get("score"), str):
                out.append((str(entry.get("type", "")), entry["score"]))
    return out


def assess(record: dict[str, Any]) -> Scored:
    best: Scored | None = None
    vectors = _vectors(record)
    for kind, vector in vectors:
        score = score_vector(kind, vector)
        if score is not None and (best is None or (best.score or 0.0) < score):
            best = Scored(band(score), score, vector, kind.lower())
    if best is not None:
        return best
    db = record.get("database_specific")
    if isinstance(db, dict):
        label = _LABELS.get(str(db.get("severity", "")).lower())
        if label:
            return Scored(label, None, vectors[0][1] if vectors else None, "label")
        for key in ("cvss_v3", "cvss_v2"):
            try:
                score = float(db.get(key))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            return Scored(band(score), score, None, "score")
    if vectors:
        return Scored(None, None, vectors[0][1], "unscorable")
    return Scored(None, None, None, "none")


def to_severity(label: str | None) -> Severity:
    return Severity.parse(label) if label else Severity.MEDIUM
