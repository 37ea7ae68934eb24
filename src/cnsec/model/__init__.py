"""The one domain model every pillar speaks (kept import-light: no third-party imports here)."""

from cnsec.model.asset import Asset, AssetType, Criticality, Exposure
from cnsec.model.event import Alert, Event, Sign
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.identity import Identity, Permission, Role
from cnsec.model.risk import Control, PlanItem, Risk
from cnsec.model.severity import Severity
from cnsec.model.source import Source
from cnsec.model.threat import Threat, threat_catalog

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
    "Risk",
    "Role",
    "Severity",
    "Sign",
    "Source",
    "Threat",
    "finding_id",
    "threat_catalog",
]
