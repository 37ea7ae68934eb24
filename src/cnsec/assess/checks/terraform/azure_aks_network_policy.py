from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-213",
    title="AKS cluster has no network policy engine",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("lateral-movement",),
    control="CTRL-NETWORK-POLICY",
    remediation='Set network_profile.network_policy = "azure", "calico" or "cilium".',
    equivalents={"checkov": ("CKV_AZURE_7",)},
)
def azure_aks_network_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a network policy engine every NetworkPolicy object is silently ignored: any pod can reach
    any other pod and the cluster's internal services.
    """
    state, value = setting(r, "network_profile", "network_policy")
    if state == "unknown" or (state == "set" and str(value).lower() not in ("", "none")):
        return
    yield Hit(f"{r.address} has no network_profile.network_policy: NetworkPolicies are not enforced",
              line=r.line_of("network_profile"), location="network_profile.network_policy",
              fix='network_profile {\n  network_plugin = "azure"\n  network_policy = "azure"\n}')
