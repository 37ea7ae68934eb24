from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-226",
    title="Key Vault can be purged (no purge protection)",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_key_vault",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set purge_protection_enabled = true (it cannot be turned off again).",
    equivalents={"checkov": ("CKV_AZURE_110", "CKV_AZURE_42")},
)
def azure_key_vault_purge_protection(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without purge protection a deleted vault or key can be purged at once, by a mistake or an attacker
    with the right role: every disk, storage account and database encrypted with its keys becomes
    unreadable for good.
    """
    yield from expect(r, "purge_protection_enabled", good=is_true, default=False,
                      want="deleted keys can be purged at once", fix="purge_protection_enabled = true")
