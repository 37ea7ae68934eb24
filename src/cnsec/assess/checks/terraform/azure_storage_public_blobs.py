from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-022",
    title="Azure storage allows public blob containers",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_storage_account", "azurerm_storage_container"),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Set allow_nested_items_to_be_public = false on the account (allow_blob_public_access in "
                 "azurerm < 3) and container_access_type = \"private\" on containers."),
    equivalents={"checkov": ("CKV_AZURE_190", "CKV2_AZURE_47", "CKV_AZURE_34")},
)
def azure_storage_public_blobs(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An account that allows public containers is one ``container_access_type = "blob"`` away from
    publishing its data anonymously; a public container already does.

    On the account the setting defaults to true, so an absent attribute fails too (as in Checkov's
    CKV_AZURE_190); an expression is unknown and passes.
    """
    if r.type == "azurerm_storage_container":
        access = r.get("container_access_type")
        if isinstance(access, str) and access in ("blob", "container"):
            yield Hit(f"{r.address} allows anonymous reads (container_access_type = {access!r})",
                      line=r.line_of("container_access_type"), location="container_access_type",
                      fix='container_access_type = "private"')
        return
    present = [a for a in ("allow_nested_items_to_be_public", "allow_blob_public_access") if a in r.attrs]
    for attr in present:
        if truth(r.get(attr)) is True:
            yield Hit(f"{r.address} sets {attr} = true", line=r.line_of(attr), location=attr,
                      fix="allow_nested_items_to_be_public = false")
            return
    if not present:
        yield Hit(f"{r.address} does not set allow_nested_items_to_be_public = false (the default allows "
                  "public containers)", line=r.line, location="allow_nested_items_to_be_public",
                  fix="allow_nested_items_to_be_public = false")
