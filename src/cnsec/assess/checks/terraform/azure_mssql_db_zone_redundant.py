from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-237",
    title="Azure SQL database is not zone redundant",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_mssql_database",),
    threats=("denial-of-service",),
    control="CTRL-CLOUD-RESILIENCE",
    remediation="Set zone_redundant = true (Premium, Business Critical, General Purpose or Hyperscale tiers).",
    equivalents={"checkov": ("CKV_AZURE_229",)},
)
def azure_mssql_db_zone_redundant(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A database in one availability zone goes down with the zone. Basic and Standard (DTU) tiers cannot
    be zone redundant and pass.
    """
    sku_state, sku = setting(r, "sku_name")
    if sku_state == "unknown" or (isinstance(sku, str) and (sku == "Basic" or (sku[:1] == "S" and sku[1:].isdigit()))):
        return
    state, value = setting(r, "zone_redundant")
    if state == "unknown" or (state == "set" and is_true(value) is not False):
        return
    yield Hit(f"{r.address} is not zone redundant", line=r.line_of("zone_redundant"), location="zone_redundant",
              fix="zone_redundant = true")
