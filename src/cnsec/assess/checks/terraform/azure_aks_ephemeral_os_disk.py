from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-202",
    title="AKS system node pool keeps its OS disk in Azure Storage",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=('Set default_node_pool.os_disk_type = "Ephemeral" (the VM size must have a cache or temp disk large '
                 'enough).'),
    equivalents={"checkov": ("CKV_AZURE_226",)},
)
def azure_aks_ephemeral_os_disk(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A managed OS disk is replicated to Azure Storage and outlives the node: whatever a container
    spilled to the node's disk (logs, temporary files, secrets written by mistake) persists there. An
    ephemeral OS disk lives on the host and is gone with the node.
    """
    yield from expect(r, "default_node_pool", "os_disk_type", good=one_of("Ephemeral"), default="Managed",
                      want='"Managed" persists node data in Azure Storage',
                      fix='default_node_pool {\n  os_disk_type = "Ephemeral"\n}')
