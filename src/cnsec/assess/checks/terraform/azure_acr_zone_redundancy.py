from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-242",
    title="Container registry is not zone redundant",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("denial-of-service",),
    control="CTRL-CLOUD-RESILIENCE",
    remediation="Set zone_redundancy_enabled = true (Premium SKU), also on each georeplications block.",
    equivalents={"checkov": ("CKV_AZURE_233",)},
)
def azure_acr_zone_redundancy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A registry in one zone stops every image pull (scale-out, node replacement) when the zone fails.
    """
    yield from expect(r, "zone_redundancy_enabled", good=is_true, default=False,
                      want="the registry fails with its zone",
                      fix="zone_redundancy_enabled = true")
