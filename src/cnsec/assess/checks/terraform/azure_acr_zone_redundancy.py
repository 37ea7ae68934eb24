from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.checks.terraform._tf import nth_block_line
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
    for n, replica in enumerate(r.blocks("georeplications")):
        value = replica.get("zone_redundancy_enabled")
        if value is None or is_true(value) is False:
            yield Hit(f"{r.address} georeplication {replica.get('location', n)!r} is not zone redundant",
                      line=nth_block_line(r, ctx, "georeplications", n), location=f"georeplications[{n}]",
                      fix="zone_redundancy_enabled = true")
            return
    yield from expect(r, "zone_redundancy_enabled", good=is_true, default=False,
                      want="the registry fails with its zone",
                      fix="zone_redundancy_enabled = true")
