"""Risk per (asset, threat): likelihood × impact, scored 0–100. The formula is in ``docs/risk.md``.

Likelihood grows with every finding that enables the threat (independent chances to get in) and with
how reachable the asset is; impact comes from the asset's criticality, the data it holds, and how bad
the threat is. Every score carries its own explanation.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from cnsec.model.asset import Asset, Criticality, Exposure
from cnsec.model.finding import Finding
from cnsec.model.risk import Risk
from cnsec.model.severity import Severity
from cnsec.model.threat import threat_catalog

EXPLOITABILITY = {Severity.CRITICAL: 0.90, Severity.HIGH: 0.70, Severity.MEDIUM: 0.45,
                  Severity.LOW: 0.20, Severity.INFO: 0.05}
EXPOSURE = {Exposure.INTERNET: 1.00, Exposure.CLUSTER: 0.75, Exposure.NONE: 0.50}
CRITICALITY = {Criticality.HIGH: 1.00, Criticality.MEDIUM: 0.70, Criticality.LOW: 0.40}
SENSITIVE_DATA = {"secret", "pii", "restricted", "confidential", "payment", "pci", "phi", "credentials"}
DATA_BONUS = 0.15
THREAT_SEVERITY = {"critical": 1.00, "high": 0.90, "medium": 0.75, "low": 0.60}
LEVELS = ((70, "critical"), (45, "high"), (20, "medium"), (0, "low"))
_SEVERITY = attrgetter("severity")


def level_of(score: int) -> str:
    for floor, name in LEVELS:
        if score >= floor:
            return name
    return "low"


def _default_asset(asset_id: str) -> Asset:
    from cnsec.model.asset import AssetType
    from cnsec.model.source import Source

    return Asset(id=asset_id, type=AssetType.OTHER, kind="?", name=asset_id, source=Source(asset_id))


def _factors(asset: Asset, threat_id: str, findings: list[Finding]) -> tuple[float, float, float, float, str, float]:
    """(combined chance, likelihood, impact, sensitive-data bonus, threat severity, its factor): the formula."""
    threat = threat_catalog().get(threat_id)
    miss = 1.0
    for f in findings:
        miss *= _MISS[f.severity] if "exploitability" not in f.attrs else 1.0 - f.attrs["exploitability"]
    combined = 1.0 - miss
    bonus = DATA_BONUS if SENSITIVE_DATA.intersection(asset.data_classes) else 0.0
    tsev = threat.severity if threat else "medium"
    tfactor = THREAT_SEVERITY.get(tsev, 0.75)
    likelihood = combined * EXPOSURE[asset.exposure]
    impact = min(1.0, CRITICALITY[asset.criticality] + bonus) * tfactor
    return combined, likelihood, impact, bonus, tsev, tfactor


def score_value(asset: Asset, threat_id: str, findings: list[Finding]) -> int:
    """Just the score (the plan re-scores many times; explanations are built only for the register)."""
    _, likelihood, impact, _, _, _ = _factors(asset, threat_id, findings)
    return round(100 * likelihood * impact)


def score_one(asset: Asset, threat_id: str, findings: list[Finding]) -> Risk:
    combined, likelihood, impact, bonus, tsev, tfactor = _factors(asset, threat_id, findings)
    score = round(100 * likelihood * impact)
    worst = sorted(findings, key=_SEVERITY, reverse=True) if len(findings) > 1 else findings  # stable
    n = len(worst)
    named = ", ".join([f"{f.severity.label} {f.check_id}" for f in worst[:3]])
    if n > 3:
        named += f" and {n - 3} more"
    terms = "·".join([_term(f) for f in worst[:4]])
    if n > 4:
        terms += "·…"
    impact_text = _impact_text(asset, bonus, tsev, tfactor)
    explanation = (
        f"likelihood {likelihood:.2f} = [1-{terms} = {combined:.2f} from {n} finding"
        f"{'s' if n != 1 else ''}: {named}] × {_EXPOSURE_TEXT[asset.exposure]}; "
        f"impact {impact:.2f} = {impact_text}; score 100 × {likelihood:.2f} × {impact:.2f} = {score}"
    )
    return Risk(asset_id=asset.id, threat_id=threat_id, finding_ids=tuple([f.id for f in worst]),
                likelihood=likelihood, impact=impact, score=score, level=level_of(score),
                explanation=explanation)


_MISS = {sev: 1.0 - p for sev, p in EXPLOITABILITY.items()}
_TERM = {sev: f"(1-{p:.2f})" for sev, p in EXPLOITABILITY.items()}
_EXPOSURE_TEXT = {e: f"exposure {e} {p:.2f}" for e, p in EXPOSURE.items()}
_IMPACT_TEXTS: dict[tuple[Criticality, float, str, float], str] = {}


def _term(f: Finding) -> str:
    """A finding's chance in the explanation: its severity's, or its own ``exploitability`` where it
    carries one (an image vulnerability: severity, fix, KEV/EPSS and the workload's privileges)."""
    own = f.attrs.get("exploitability")
    return _TERM[f.severity] if own is None else f"(1-{own:.2f})"


def _impact_text(asset: Asset, bonus: float, tsev: str, tfactor: float) -> str:
    """The impact part of an explanation: a handful of distinct texts over a whole register."""
    key = (asset.criticality, bonus, tsev, tfactor)
    text = _IMPACT_TEXTS.get(key)
    if text is None:
        crit = asset.criticality
        text = (f"min(1, criticality {crit} {CRITICALITY[crit]:.2f}"
                f"{f' + sensitive data {bonus:.2f}' if bonus else ''}) × threat severity {tsev} {tfactor:.2f}")
        _IMPACT_TEXTS[key] = text
    return text


def group(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.suppressed:
            continue
        for t in f.threat_ids:
            groups.setdefault((f.asset_id, t), []).append(f)
    return groups


def score_risks(findings: list[Finding], assets: dict[str, Asset],
                groups: dict[tuple[str, str], list[Finding]] | None = None) -> list[Risk]:
    """One risk per (asset, threat) with unsuppressed findings; ``groups`` is :func:`group` of the
    findings when the caller has it already."""
    risks = []
    for (asset_id, threat_id), fs in (group(findings) if groups is None else groups).items():
        asset = assets.get(asset_id) or _default_asset(asset_id)
        risks.append(score_one(asset, threat_id, fs))
    risks.sort(key=lambda r: (-r.score, r.asset_id, r.threat_id))
    return risks
