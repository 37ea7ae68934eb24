from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-201",
    title="AKS node pool does not encrypt at the host",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster", "azurerm_kubernetes_cluster_node_pool"),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set host_encryption_enabled = true (enable_host_encryption in azurerm < 4) on every node pool.",
    equivalents={"checkov": ("CKV_AZURE_227",)},
)
def azure_aks_host_encryption(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without encryption at host, the nodes' temporary disks and disk caches are stored in clear on the
    VM host, and data flows to Azure Storage unencrypted: a container's scratch data and the page cache
    of its volumes are readable outside the cluster's encryption.
    """
    prefix = ("default_node_pool",) if r.type == "azurerm_kubernetes_cluster" else ()
    old = "enable_host_encryption"  # azurerm < 4
    attr = old if setting(r, *prefix, old)[0] != "absent" else "host_encryption_enabled"
    yield from expect(r, *prefix, attr, good=is_true, default=False, want="host encryption is off by default",
                      fix="host_encryption_enabled = true")
