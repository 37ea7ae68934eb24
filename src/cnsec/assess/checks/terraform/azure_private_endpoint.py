from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_WHAT = {"azurerm_storage_account": "storage account", "azurerm_key_vault": "key vault",
         "azurerm_mssql_server": "SQL server"}


@check(
    id="CNSEC-TF-223",
    title="Azure data service has no private endpoint",
    severity=Severity.LOW,
    target="terraform",
    resource_types=tuple(_WHAT),
    threats=("data-breach", "network-interception"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Add an azurerm_private_endpoint whose private_service_connection points at the resource, and "
                 "turn its public network access off."),
    equivalents={"checkov": ("CKV2_AZURE_33", "CKV2_AZURE_32", "CKV2_AZURE_45")},
)
def azure_private_endpoint(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a private endpoint the service is reached over its public endpoint: its traffic leaves
    the virtual network and the service has to stay open to some public network.

    A private endpoint whose target is an expression we cannot follow (a variable, another module's
    output) may be the one, and then nothing is reported.
    """
    found = linked(ctx, r, ("azurerm_private_endpoint",),
                   ("private_service_connection", "private_connection_resource_id"))
    if found is not False:
        return
    yield Hit(f"{r.address} ({_WHAT[r.type]}) has no private endpoint in this configuration", line=r.line,
              location="private_endpoint",
              fix=("resource \"azurerm_private_endpoint\" \"pe\" {\n  subnet_id = azurerm_subnet.private.id\n"
                   "  private_service_connection {\n    private_connection_resource_id = " + r.type + "." + r.name
                   + ".id\n    is_manual_connection = false\n  }\n}"))
