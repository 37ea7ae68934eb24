from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import is_true, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-319",
    title="GKE cluster without intranode visibility",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("defense-evasion", "lateral-movement"),
    control="CTRL-LOGGING",
    remediation="Set enable_intranode_visibility = true (and VPC flow logs on the cluster's subnet).",
    equivalents={"checkov": ("CKV_GCP_61",)},
)
def gke_intranode_visibility(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Traffic between pods on the same node never reaches the VPC, so flow logs and firewall rules
    do not see it; intranode visibility routes it through the VPC where it is logged."""
    value = r.get("enable_intranode_visibility")
    if is_true(value) or (value is not None and not known(value)):
        return
    yield Hit(f"{r.address} does not enable intranode visibility", line=r.line_of("enable_intranode_visibility"),
              location="enable_intranode_visibility", fix="enable_intranode_visibility = true")
