from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import may_have, node_configs, sibling_clusters, sub
from cnsec.assess.checks.terraform._tf import is_expr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_SAFE = ("GKE_METADATA", "GKE_METADATA_SERVER")


@check(
    id="CNSEC-TF-315",
    title="GKE nodes expose the Compute Engine metadata server to pods",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_container_cluster", "google_container_node_pool"),
    threats=("credential-abuse", "privilege-escalation"),
    control="CTRL-SA-TOKENS",
    remediation=("Enable Workload Identity (workload_identity_config on the cluster) and set node_config "
                 "{ workload_metadata_config { mode = \"GKE_METADATA\" } } on every node pool."),
    equivalents={"checkov": ("CKV_GCP_69",)},
)
def gke_metadata_server(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without the GKE metadata server any pod can read the node's service-account token (and the
    kube-env bootstrap credentials) from 169.254.169.254 and act as the node in the project.

    A node pool that does not set the mode inherits GKE_METADATA from a cluster with Workload
    Identity, so it is reported only when its cluster (in the same module) has none. A cluster's
    inline ``node_pool`` blocks count; Autopilot clusters and clusters without their default node
    pool pass.
    """
    for cfg in node_configs(r):
        wmc = sub(cfg, "workload_metadata_config")
        mode = (wmc or {}).get("mode", (wmc or {}).get("node_metadata"))
        if mode in _SAFE or is_expr(mode):
            continue
        if mode is None:
            clusters = [r] if r.type == "google_container_cluster" else sibling_clusters(r, ctx)
            if not clusters or any(may_have(c, "workload_identity_config") for c in clusters):
                continue  # the mode is inherited from Workload Identity, or from a cluster we do not see
        why = f"sets workload_metadata_config mode {mode!r}" if mode else "does not use the GKE metadata server"
        yield Hit(f"{r.address} {why}: pods can read the node's credentials", line=r.line_of("node_config"),
                  location="node_config.workload_metadata_config",
                  fix='node_config {\n  workload_metadata_config {\n    mode = "GKE_METADATA"\n  }\n}')
        return
