from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-203",
    title="AKS system node pool also runs application pods",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("lateral-movement", "denial-of-service"),
    control="CTRL-NAMESPACES",
    remediation="Set default_node_pool.only_critical_addons_enabled = true and run applications in a user node pool.",
    equivalents={"checkov": ("CKV_AZURE_232",)},
)
def azure_aks_system_pool_critical_only(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Application pods scheduled beside CoreDNS, konnectivity and the CSI drivers can starve them or,
    once compromised, reach the node they share with cluster-critical components; the
    CriticalAddonsOnly taint keeps the system pool for system pods.
    """
    yield from expect(r, "default_node_pool", "only_critical_addons_enabled", good=is_true, default=False,
                      want="application pods may be scheduled on the system pool",
                      fix="default_node_pool {\n  only_critical_addons_enabled = true\n}")
