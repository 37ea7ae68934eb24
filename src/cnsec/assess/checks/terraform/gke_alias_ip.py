from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-332",
    title="GKE cluster is routes-based (no VPC-native alias IPs)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("lateral-movement", "network-interception"),
    control="CTRL-NETWORK-POLICY",
    remediation=("Add an ip_allocation_policy block (secondary ranges for pods and services) to make the "
                 "cluster VPC-native."),
    equivalents={"checkov": ("CKV_GCP_23",)},
)
def gke_alias_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """In a routes-based cluster pod addresses are not VPC addresses: firewall rules, flow logs and
    anti-spoofing checks cannot tell pods apart, and private clusters, Dataplane V2 and Private
    Service Connect are unavailable."""
    if r.get("networking_mode") == "VPC_NATIVE" or may_have(r, "ip_allocation_policy"):
        return
    yield Hit(f"{r.address} has no ip_allocation_policy: pods get routes, not VPC alias IPs", line=r.line,
              location="ip_allocation_policy",
              fix=('ip_allocation_policy {\n  cluster_secondary_range_name  = "pods"\n'
                   '  services_secondary_range_name = "services"\n}'))
