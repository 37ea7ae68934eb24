from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, is_expr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-254",
    title="Custom Azure role grants every action (*)",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_role_definition",),
    threats=("privilege-escalation",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="List the exact actions the role needs in permissions.actions instead of \"*\".",
    equivalents={"checkov": ("CKV_AZURE_39",)},
)
def azure_role_definition_wildcard(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A custom role with actions = ["*"] is Owner under another name: whoever holds it can grant
    themselves anything in its scope, including role assignments.
    """
    for block in r.blocks("permissions"):
        actions = block.get("actions")
        if is_expr(actions):
            continue
        if "*" in [a for a in as_list(actions) if isinstance(a, str)]:
            yield Hit(f"{r.address} allows every action (\"*\")", line=r.line_of("permissions"),
                      location="permissions.actions", fix='actions = ["Microsoft.Storage/storageAccounts/read"]')
            return
