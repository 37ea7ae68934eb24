from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-216",
    title="Azure storage account accepts traffic from public networks",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("data-breach", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set public_network_access_enabled = false and reach the account through a private endpoint.",
    equivalents={"checkov": ("CKV_AZURE_59",)},
)
def azure_storage_public_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An account on the public endpoint is one leaked key or SAS token away from being read from
    anywhere; with public network access off only private endpoints reach it.
    """
    yield from expect(r, "public_network_access_enabled", good=is_false, default=True,
                      want="the public endpoint is on by default", fix="public_network_access_enabled = false")
