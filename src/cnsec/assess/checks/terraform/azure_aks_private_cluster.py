from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-206",
    title="AKS API server has a public endpoint",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("exposed-interface",),
    control="CTRL-CONTROL-PLANE",
    remediation="Set private_cluster_enabled = true and reach the API server through the virtual network.",
    equivalents={"checkov": ("CKV_AZURE_115",)},
)
def azure_aks_private_cluster(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A public API server can be probed and attacked by anyone on the internet (credential stuffing,
    API-server vulnerabilities); a private cluster is reachable only from its network. Low on its own:
    CNSEC-TF-207 reports the worse case of a public endpoint open to every address.
    """
    yield from expect(r, "private_cluster_enabled", good=is_true, default=False,
                      want="the API server is public by default", fix="private_cluster_enabled = true")
