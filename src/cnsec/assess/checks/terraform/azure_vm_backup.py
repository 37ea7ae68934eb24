from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-258",
    title="Virtual machine is not backed up",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_virtual_machine",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add an azurerm_backup_protected_vm with source_vm_id pointing at the VM and a backup policy.",
    equivalents={"checkov": ("CKV2_AZURE_12",)},
)
def azure_vm_backup(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A VM without Azure Backup is lost with its disks: ransomware or a deleted resource group leaves
    nothing to restore from.
    """
    if linked(ctx, r, ("azurerm_backup_protected_vm",), "source_vm_id") is not False:
        return
    yield Hit(f"{r.address} has no azurerm_backup_protected_vm", line=r.line, location="backup",
              fix=('resource "azurerm_backup_protected_vm" "vm" {\n'
                   "  recovery_vault_name = azurerm_recovery_services_vault.vault.name\n"
                   "  resource_group_name = azurerm_recovery_services_vault.vault.resource_group_name\n"
                   f"  source_vm_id        = azurerm_virtual_machine.{r.name}.id\n"
                   "  backup_policy_id    = azurerm_backup_policy_vm.daily.id\n}"))
