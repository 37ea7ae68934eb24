from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-218",
    title="Azure storage account does not keep deleted blobs",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("data-tampering",),
    control="CTRL-BACKUP-VERSIONING",
    remediation=("Add blob_properties { delete_retention_policy { days = 14 } } (and "
                 "container_delete_retention_policy)."),
    equivalents={"checkov": ("CKV2_AZURE_38",)},
)
def azure_storage_soft_delete(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without blob soft delete a mistaken or malicious delete (ransomware wiping a container) is final.
    FileStorage accounts hold no blobs and pass.
    """
    kind_state, kind = setting(r, "account_kind")
    if kind_state == "unknown" or (kind_state == "set" and str(kind).lower() == "filestorage"):
        return
    state, _ = setting(r, "blob_properties", "delete_retention_policy")
    if state != "absent":
        return
    yield Hit(f"{r.address} has no blob_properties.delete_retention_policy: deleted blobs are gone at once",
              line=r.line_of("blob_properties"), location="blob_properties.delete_retention_policy",
              fix="blob_properties {\n  delete_retention_policy {\n    days = 14\n  }\n}")
