from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-219",
    title="Azure storage account is not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Add a customer_managed_key block (or an azurerm_storage_account_customer_managed_key resource) "
                 "with a Key Vault key."),
    equivalents={"checkov": ("CKV2_AZURE_1",)},
)
def azure_storage_cmk(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Microsoft-managed keys cannot be revoked by you: with a customer-managed key, disabling the key
    makes the data unreadable, and its use is logged in your Key Vault.
    """
    if setting(r, "customer_managed_key")[0] != "absent":
        return
    if linked(ctx, r, ("azurerm_storage_account_customer_managed_key",), "storage_account_id") is not False:
        return
    yield Hit(f"{r.address} uses Microsoft-managed keys (no customer_managed_key)", line=r.line,
              location="customer_managed_key",
              fix=("customer_managed_key {\n  key_vault_key_id          = azurerm_key_vault_key.storage.id\n"
                   "  user_assigned_identity_id = azurerm_user_assigned_identity.storage.id\n}"))
