from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import anything, expect
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-228",
    title="Key Vault key or secret never expires",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_key_vault_key", "azurerm_key_vault_secret"),
    threats=("secret-access", "credential-abuse"),
    control="CTRL-KEY-ROTATION",
    remediation="Set expiration_date (and a rotation_policy on keys) so the key or secret is rotated.",
    equivalents={"checkov": ("CKV_AZURE_40", "CKV_AZURE_41")},
)
def azure_key_vault_expiry(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A key or secret without an expiration date is never forced to rotate: one that leaked stays
    valid for as long as nobody notices.
    """
    yield from expect(r, "expiration_date", good=anything, default=None, want="it never expires",
                      fix='expiration_date = "2027-12-31T00:00:00Z"')
