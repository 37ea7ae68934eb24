from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-020",
    title="Azure storage account accepts plain HTTP",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("network-interception",),
    control="CTRL-TLS",
    remediation="Set https_traffic_only_enabled = true (enable_https_traffic_only in azurerm < 4).",
    equivalents={"checkov": ("CKV_AZURE_3",)},
)
def azure_storage_https_only(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Plain HTTP lets anyone on the path read or alter blobs and steal SAS tokens in transit.

    The provider default is true, so only an explicit false fails.
    """
    for attr in ("https_traffic_only_enabled", "enable_https_traffic_only"):
        if truth(r.get(attr)) is False:
            yield Hit(f"{r.address} sets {attr} = false", line=r.line_of(attr), location=attr,
                      fix=f"{attr} = true")
