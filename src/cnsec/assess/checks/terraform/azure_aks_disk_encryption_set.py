from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import anything, expect
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-210",
    title="AKS node disks are not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set disk_encryption_set_id to a disk encryption set backed by your Key Vault key.",
    equivalents={"checkov": ("CKV_AZURE_117",)},
)
def azure_aks_disk_encryption_set(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Platform-managed keys cannot be revoked or rotated by you; with a disk encryption set the node
    disks are encrypted with a key you control and can withdraw.
    """
    yield from expect(r, "disk_encryption_set_id", good=anything, default=None,
                      want="disks use platform-managed keys",
                      fix="disk_encryption_set_id = azurerm_disk_encryption_set.aks.id")
