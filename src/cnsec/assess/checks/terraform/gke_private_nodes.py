from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_false, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-320",
    title="GKE nodes get public IP addresses (no private nodes)",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("exposed-interface",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Add private_cluster_config { enable_private_nodes = true, master_ipv4_cidr_block = … } (Cloud NAT "
                 "for egress), or enable_private_nodes in the cluster's network_config."),
    equivalents={"checkov": ("CKV_GCP_25", "CKV_GCP_64")},
)
def gke_private_nodes(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Nodes with external IPs put the kubelet, every NodePort and every hostPort in front of the
    internet, guarded only by firewall rules.

    Unlike Checkov, ``enable_private_nodes = false`` inside private_cluster_config fails too.
    """
    cfg = first(r, "private_cluster_config")
    network = first(r, "network_config")
    if network and network.get("enable_private_nodes") is True:
        return
    if cfg is None:
        if may_have(r, "private_cluster_config"):
            return
        yield Hit(f"{r.address} has no private_cluster_config: its nodes get public IPs", line=r.line,
                  location="private_cluster_config",
                  fix=('private_cluster_config {\n  enable_private_nodes    = true\n  enable_private_endpoint = false\n'
                       '  master_ipv4_cidr_block  = "172.16.0.0/28"\n}'))
    elif is_false(cfg.get("enable_private_nodes")):
        yield Hit(f"{r.address} sets enable_private_nodes = false", line=r.line_of("private_cluster_config"),
                  location="private_cluster_config.enable_private_nodes", fix="enable_private_nodes = true")
