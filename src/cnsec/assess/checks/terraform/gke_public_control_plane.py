from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import open_cidr, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-028",
    title="GKE control plane reachable from the whole internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("exposed-interface", "unauthenticated-access"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Add master_authorized_networks_config with your office/VPN CIDRs, or make the endpoint "
                 "private (private_cluster_config { enable_private_endpoint = true })."),
    equivalents={"checkov": ("CKV_GCP_20",)},
)
def gke_public_control_plane(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without authorized networks the cluster's API server answers anyone on the internet, so a leaked
    credential or an API-server vulnerability is exploitable from anywhere.

    A private endpoint passes. Unlike Checkov's CKV_GCP_20 (which passes any
    ``master_authorized_networks_config``), an authorized network of 0.0.0.0/0 fails.
    """
    private = r.blocks("private_cluster_config")
    if private and truth(private[0].get("enable_private_endpoint")) is True:
        return
    cfgs = r.blocks("master_authorized_networks_config")
    if not cfgs:
        yield Hit(f"{r.address} has no master_authorized_networks_config: its API endpoint is open to all",
                  line=r.line, location="master_authorized_networks_config",
                  fix=('master_authorized_networks_config {\n  cidr_blocks {\n    cidr_block   = "203.0.113.0/24"\n'
                       '    display_name = "office"\n  }\n}'))
        return
    blocks = cfgs[0].get("cidr_blocks")
    items = blocks if isinstance(blocks, list) else [blocks]
    if any(isinstance(b, dict) and open_cidr(b.get("cidr_block")) for b in items):
        yield Hit(f"{r.address} authorizes 0.0.0.0/0 to reach its API endpoint",
                  line=r.line_of("master_authorized_networks_config"), location="master_authorized_networks_config",
                  fix='cidr_block = "203.0.113.0/24"  # your office/VPN range')
