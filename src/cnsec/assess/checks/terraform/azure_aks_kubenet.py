from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-214",
    title="AKS cluster uses kubenet rather than Azure CNI",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("lateral-movement",),
    control="CTRL-NETWORK-POLICY",
    remediation=('Set network_profile.network_plugin = "azure" (with network_plugin_mode = "overlay" to save '
                 'addresses).'),
    equivalents={"checkov": ("CKV2_AZURE_29",)},
)
def azure_aks_kubenet(r: TfResource, ctx: object) -> Iterator[Hit]:
    """kubenet (the default) routes pods through user-defined routes outside the VNet's addressing:
    pods cannot be matched by NSGs or private endpoints, Azure network policy is unsupported, and
    kubenet is retired by Microsoft in 2028.
    """
    yield from expect(r, "network_profile", "network_plugin", good=one_of("azure"), default="kubenet",
                      want="pods are not first-class VNet members",
                      fix='network_profile {\n  network_plugin = "azure"\n}')
