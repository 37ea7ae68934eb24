from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-243",
    title="Container registry has no dedicated data endpoints",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("exposed-interface", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Set data_endpoint_enabled = true (Premium SKU) so firewall rules can name the registry's own data "
                 "endpoints."),
    equivalents={"checkov": ("CKV_AZURE_237",)},
)
def azure_acr_data_endpoint(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without dedicated data endpoints the firewall must allow *.blob.core.windows.net for layer
    downloads, a wildcard that also lets data be sent to any storage account.
    """
    yield from expect(r, "data_endpoint_enabled", good=is_true, default=False,
                      want="image layers come from a shared wildcard endpoint",
                      fix="data_endpoint_enabled = true")
