from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import neighbours, setting
from cnsec.assess.checks.terraform._tf import refers_to, to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Days of audit records that cover the time an intrusion usually goes unnoticed.
MIN_DAYS = 90


@check(
    id="CNSEC-TF-231",
    title="Azure SQL server keeps its audit log less than 90 days",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_mssql_server", "azurerm_sql_server"),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Set retention_in_days = 90 or more (0 keeps the records forever) on the server's auditing policy.",
    equivalents={"checkov": ("CKV_AZURE_24",)},
)
def azure_mssql_audit_retention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Intrusions are often found months later; audit records deleted after a few days cannot show what
    happened. A server without any auditing is CNSEC-TF-230's finding, not this one; retention 0 (the
    default) means "keep forever" in Azure and passes (Checkov fails it).
    """
    policies: list[tuple[object, int]] = []
    state, inline = setting(r, "extended_auditing_policy")
    if state == "unknown":
        return
    if state == "set":
        policies.append((inline, r.line_of("extended_auditing_policy")))
    for p in neighbours(ctx, r, "azurerm_mssql_server_extended_auditing_policy"):
        if refers_to(p.attrs.get("server_id"), r):
            policies.append((p.attrs, p.line_of("retention_in_days")))
    for policy, line in policies:
        days = to_int(policy.get("retention_in_days")) if isinstance(policy, dict) else None
        if days is not None and 0 < days < MIN_DAYS:  # absent or 0: kept forever
            yield Hit(f"{r.address} keeps audit records {days} days", line=line, location="retention_in_days",
                      fix=f"retention_in_days = {MIN_DAYS}")
            return
