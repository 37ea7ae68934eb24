from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-249",
    title="Azure SQL firewall rule admits all of Azure or the whole internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_mssql_firewall_rule", "azurerm_sql_firewall_rule"),
    threats=("exposed-interface", "credential-abuse", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Replace the rule with the exact client ranges, or use a private endpoint / VNet rule instead of "
                 "0.0.0.0 (\"allow Azure services\")."),
    equivalents={"checkov": ("CKV2_AZURE_34",)},
)
def azure_sql_firewall_open(r: TfResource, ctx: object) -> Iterator[Hit]:
    """0.0.0.0–0.0.0.0 ("allow Azure services") admits every Azure customer's VMs and functions, not only
    yours; a range that spans the address space admits the internet. Either leaves the login prompt
    to password spraying. Checkov fails the first; the second (0.0.0.0–255.255.255.255) passes there.
    """
    (s_state, start), (e_state, end) = setting(r, "start_ip_address"), setting(r, "end_ip_address")
    if s_state != "set" or e_state != "set":
        return
    if start == "0.0.0.0" and end == "0.0.0.0":  # noqa: S104
        what = "every Azure service of every tenant (0.0.0.0)"
    elif _first_octet(start) == 0 and _first_octet(end) == 255:
        what = f"the whole internet ({start}–{end})"
    else:
        return
    yield Hit(f"{r.address} admits {what}", line=r.line_of("start_ip_address"), location="start_ip_address",
              fix='start_ip_address = "203.0.113.10"\nend_ip_address   = "203.0.113.20"')


def _first_octet(ip: object) -> int | None:
    head = str(ip).split(".", 1)[0]
    return int(head) if head.isdigit() else None
