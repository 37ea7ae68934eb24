from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-221",
    title="Azure storage account accepts shared-key authorization",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("credential-abuse", "data-breach"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Set shared_access_key_enabled = false and grant access with Entra ID roles (storage_use_azuread = "
                 "true in the provider)."),
    equivalents={"checkov": ("CKV2_AZURE_40",)},
)
def azure_storage_shared_key(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An account key is full control of the account with no identity attached: it cannot be scoped,
    does not expire, and every SAS signed with it is valid until the key is rotated.
    """
    yield from expect(r, "shared_access_key_enabled", good=is_false, default=True,
                      want="account keys are accepted by default", fix="shared_access_key_enabled = false")
