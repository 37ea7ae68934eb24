from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-234",
    title="Azure SQL server has no Entra ID administrator",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_mssql_server",),
    threats=("credential-abuse",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Add an azuread_administrator { login_username = … object_id = … } block (and "
                 "azuread_authentication_only = true)."),
    equivalents={"checkov": ("CKV2_AZURE_27",)},
)
def azure_mssql_entra_admin(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With SQL logins only, database access rests on passwords outside Entra ID: no MFA, no conditional
    access, no central revocation when someone leaves.
    """
    state, admin = setting(r, "azuread_administrator")
    if state == "unknown":
        return
    if state == "set":
        login = admin.get("login_username") if isinstance(admin, dict) else None
        if login is None or not isinstance(login, str) or login.strip():
            return
    yield Hit(f"{r.address} has no Entra ID (azuread_administrator) administrator",
              line=r.line_of("azuread_administrator"), location="azuread_administrator",
              fix=("azuread_administrator {\n  login_username              = \"sql-admins\"\n"
                   "  object_id                   = azuread_group.sql_admins.object_id\n"
                   "  azuread_authentication_only = true\n}"))
