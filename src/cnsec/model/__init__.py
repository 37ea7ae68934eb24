"""The one domain model every pillar speaks.

Names are loaded on first use (PEP 562), so importing one small piece of the model — as every
command's argument parser does — does not pay for the rest: the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "Asset": "asset", "AssetType": "asset", "Criticality": "asset", "Exposure": "asset",
    "Alert": "event", "Event": "event", "Sign": "event",
    "Finding": "finding", "InputProblem": "finding", "finding_id": "finding",
    "Identity": "identity", "Permission": "identity", "Role": "identity",
    "Control": "risk", "PlanItem": "risk", "Risk": "risk",
    "Severity": "severity", "Source": "source",
    "Threat": "threat", "threat_catalog": "threat",
    "Report": "report", "RuleInfo": "report",
}

__all__ = [
    "Alert",
    "Asset",
    "AssetType",
    "Control",
    "Criticality",
    "Event",
    "Exposure",
    "Finding",
    "Identity",
    "InputProblem",
    "Permission",
    "PlanItem",
    "Report",
    "Risk",
    "Role",
    "RuleInfo",
    "Severity",
    "Sign",
    "Source",
    "Threat",
    "finding_id",
    "threat_catalog",
]

if TYPE_CHECKING:
    from cnsec.model.asset import Asset, AssetType, Criticality, Exposure
    from cnsec.model.event import Alert, Event, Sign
    from cnsec.model.finding import Finding, InputProblem, finding_id
    from cnsec.model.identity import Identity, Permission, Role
    from cnsec.model.report import Report, RuleInfo
    from cnsec.model.risk import Control, PlanItem, Risk
    from cnsec.model.severity import Severity
    from cnsec.model.source import Source
    from cnsec.model.threat import Threat, threat_catalog


__getattr__ = exports(__name__, _WHERE)
