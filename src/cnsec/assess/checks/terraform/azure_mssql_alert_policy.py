from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import neighbours, setting
from cnsec.assess.checks.terraform._tf import refers_to
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-235",
    title="Azure SQL server has no threat detection (security alert policy)",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_mssql_server", "azurerm_sql_server"),
    threats=("sql-injection", "credential-abuse", "defense-evasion"),
    control="CTRL-LOGGING",
    remediation='Add an azurerm_mssql_server_security_alert_policy with state = "Enabled" for the server.',
    equivalents={"checkov": ("CKV2_AZURE_2",)},
)
def azure_mssql_alert_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Advanced Threat Protection raises alerts on SQL injection, brute force and access from unusual
    places; without an enabled alert policy these go unnoticed.
    """
    unsure = False
    for p in neighbours(ctx, r, "azurerm_mssql_server_security_alert_policy"):
        target = str(p.attrs.get("server_name", "")) + str(p.attrs.get("server_id", ""))
        if not refers_to(target, r):
            if "${var." in target or "${module." in target:
                unsure = True
            continue
        state, value = setting(p, "state")
        if state != "set" or str(value) == "Enabled":
            return
    if unsure:
        return
    yield Hit(f"{r.address} has no enabled security alert policy (threat detection)", line=r.line,
              location="security_alert_policy",
              fix=('resource "azurerm_mssql_server_security_alert_policy" "alerts" {\n'
                   f"  resource_group_name = {r.type}.{r.name}.resource_group_name\n"
                   f"  server_name         = {r.type}.{r.name}.name\n"
                   '  state               = "Enabled"\n}'))
