from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import autopilot, first, is_true, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-318",
    title="GKE cluster cannot enforce Kubernetes network policies",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("lateral-movement",),
    control="CTRL-NETWORK-POLICY",
    remediation=('Use Dataplane V2 (datapath_provider = "ADVANCED_DATAPATH") or enable network_policy { enabled = true '
                 'provider = "CALICO" } with addons_config { network_policy_config { disabled = false } }.'),
    equivalents={"checkov": ("CKV_GCP_12",)},
)
def gke_network_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without an enforcing dataplane NetworkPolicy objects are accepted and silently ignored: every
    pod can reach every other pod, so one compromised pod reaches the databases and internal APIs.

    Dataplane V2 enforces policies without the network_policy block; Autopilot always uses it.
    """
    datapath = r.get("datapath_provider")
    if autopilot(r) or datapath == "ADVANCED_DATAPATH" or (datapath is not None and not known(datapath)):
        return
    policy = first(r, "network_policy")
    enabled = (policy or {}).get("enabled")
    if is_true(enabled) or (enabled is not None and not known(enabled)) or (
            policy is None and "network_policy" in r.unknown_blocks):
        return
    yield Hit(f"{r.address} has neither network policy enforcement nor Dataplane V2", line=r.line_of("network_policy"),
              location="network_policy", fix='datapath_provider = "ADVANCED_DATAPATH"')
