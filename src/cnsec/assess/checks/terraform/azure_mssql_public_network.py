from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-232",
    title="Azure SQL server accepts connections from public networks",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_mssql_server",),
    threats=("data-breach", "exposed-interface", "credential-abuse"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set public_network_access_enabled = false and connect through a private endpoint.",
    equivalents={"checkov": ("CKV_AZURE_113",)},
)
def azure_mssql_public_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A database on a public endpoint is exposed to password spraying and SQL-engine vulnerabilities
    from the internet, with only the server firewall in between.
    """
    yield from expect(r, "public_network_access_enabled", good=is_false, default=True,
                      want="the public endpoint is on by default", fix="public_network_access_enabled = false")
