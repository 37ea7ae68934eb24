from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

AUDIT_TYPES = ("azurerm_mssql_server_extended_auditing_policy",)


@check(
    id="CNSEC-TF-230",
    title="Azure SQL server has no auditing",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_mssql_server", "azurerm_sql_server"),
    threats=("defense-evasion", "data-breach"),
    control="CTRL-LOGGING",
    remediation=("Add an azurerm_mssql_server_extended_auditing_policy for the server (to Log Analytics or a "
                 "storage account), with retention_in_days >= 90."),
    equivalents={"checkov": ("CKV_AZURE_23", "CKV_AZURE_24")},
)
def azure_mssql_auditing(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without server auditing nobody can tell which logins ran which queries: a data theft through
    stolen SQL credentials or an injection leaves no trace in the database's own logs. It answers
    Checkov's retention check too: a server without auditing keeps no records at all.
    """
    if setting(r, "extended_auditing_policy")[0] != "absent":
        return
    if linked(ctx, r, AUDIT_TYPES, "server_id") is not False:
        return
    yield Hit(f"{r.address} has no extended auditing policy", line=r.line, location="extended_auditing_policy",
              fix=('resource "azurerm_mssql_server_extended_auditing_policy" "audit" {\n'
                   f"  server_id              = {r.type}.{r.name}.id\n"
                   "  log_monitoring_enabled = true\n  retention_in_days      = 90\n}"))
