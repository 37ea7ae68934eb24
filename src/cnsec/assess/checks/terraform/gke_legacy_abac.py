from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-027",
    title="GKE legacy ABAC authorization enabled",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("privilege-escalation", "cluster-takeover"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation="Remove enable_legacy_abac (or set it to false) and grant access with Kubernetes RBAC and IAM.",
    equivalents={"checkov": ("CKV_GCP_7",)},
)
def gke_legacy_abac(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Legacy ABAC grants broad static permissions (service accounts get near cluster-admin by default)
    that RBAC cannot take back: any pod's token becomes a cluster takeover."""
    if truth(r.get("enable_legacy_abac")) is True:
        yield Hit(f"{r.address} enables legacy ABAC", line=r.line_of("enable_legacy_abac"),
                  location="enable_legacy_abac", fix="enable_legacy_abac = false")
