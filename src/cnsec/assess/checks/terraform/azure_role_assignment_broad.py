from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Built-in roles that can read everything or change access: too much for one principal at a wide scope.
PRIVILEGED = frozenset({"owner", "contributor", "user access administrator", "role based access control administrator"})
_WIDE = re.compile(r"^/(subscriptions/[^/]+|providers/Microsoft\.Management/managementGroups/[^/]+)/?$", re.I)


@check(
    id="CNSEC-TF-259",
    title="Role assignment grants Owner, Contributor or access administration on a whole subscription",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_role_assignment",),
    threats=("privilege-escalation", "lateral-movement"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Scope the assignment to the resource group or resource the principal works on, with the "
                 "narrowest built-in role (for example Storage Blob Data Reader)."),
)
def azure_role_assignment_broad(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A workload identity or group with Owner/Contributor on a subscription (or management group) can
    change or read every resource in it; a stolen token for it is a tenant-wide incident. Only literal
    scopes and role names are judged.
    """
    (s_state, scope), (n_state, role) = setting(r, "scope"), setting(r, "role_definition_name")
    if s_state != "set" or n_state != "set" or not isinstance(scope, str) or not isinstance(role, str):
        return
    if role.strip().lower() in PRIVILEGED and _WIDE.match(scope.strip()):
        yield Hit(f"{r.address} grants {role!r} on {scope}", line=r.line_of("role_definition_name"),
                  location="role_definition_name",
                  fix=('scope                = azurerm_resource_group.app.id\n'
                       'role_definition_name = "Reader"  # or the narrowest role that does the job'))
