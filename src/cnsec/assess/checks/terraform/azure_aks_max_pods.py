from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import neighbours, setting
from cnsec.assess.checks.terraform._tf import refers_to, to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: The fewest pods per node that leaves room for the system DaemonSets and a rolling update.
MIN_PODS = 50


def default_max_pods(cluster: TfResource) -> int | None:
    """AKS's default pods per node for the cluster's network plugin: kubenet 110, Azure CNI 30, Azure
    CNI overlay 250; None when the plugin is unknown."""
    plugin_state, plugin = setting(cluster, "network_profile", "network_plugin")
    mode_state, mode = setting(cluster, "network_profile", "network_plugin_mode")
    if "unknown" in (plugin_state, mode_state):
        return None
    plugin = str(plugin).lower() if plugin_state == "set" else "kubenet"
    if plugin == "azure":
        return 250 if mode_state == "set" and str(mode).lower() == "overlay" else 30
    return 110 if plugin == "kubenet" else None


@check(
    id="CNSEC-TF-200",
    title="AKS node pool allows fewer than 50 pods per node",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster", "azurerm_kubernetes_cluster_node_pool"),
    threats=("denial-of-service",),
    control="CTRL-CLOUD-RESILIENCE",
    remediation="Set max_pods = 50 or more on the node pool (it cannot be changed on an existing pool).",
    equivalents={"checkov": ("CKV_AZURE_168",)},
)
def azure_aks_max_pods(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With few pods per node the system DaemonSets take most of the slots, and a surge or a node
    failure leaves workloads unschedulable; max_pods is fixed at pool creation.

    Unlike Checkov, which assumes 30 whenever max_pods is absent, the default comes from the network
    plugin (kubenet's default, 110, passes).
    """
    prefix = ("default_node_pool",) if r.type == "azurerm_kubernetes_cluster" else ()
    state, value = setting(r, *prefix, "max_pods")
    if state == "unknown":
        return
    if state == "set":
        pods = to_int(value)
        if pods is not None and pods < MIN_PODS:
            yield Hit(f"{r.address} sets max_pods = {pods} (fewer than {MIN_PODS} pods per node)",
                      line=r.line_of(prefix[0] if prefix else "max_pods"), location=".".join((*prefix, "max_pods")),
                      fix=f"max_pods = {MIN_PODS}")
        return
    if r.type == "azurerm_kubernetes_cluster":
        clusters = [r]
    else:
        clusters = [c for c in neighbours(ctx, r, "azurerm_kubernetes_cluster")
                    if refers_to(r.attrs.get("kubernetes_cluster_id"), c)]
    if len(clusters) != 1:
        return
    default = default_max_pods(clusters[0])
    if default is not None and default < MIN_PODS:
        yield Hit(f"{r.address} does not set max_pods: the network plugin's default is {default} pods per node",
                  line=r.line_of(prefix[0] if prefix else "max_pods"), location=".".join((*prefix, "max_pods")),
                  fix=f"max_pods = {MIN_PODS}")
