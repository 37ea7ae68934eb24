from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-250",
    title="Container registry is not geo-replicated",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("denial-of-service",),
    control="CTRL-CLOUD-RESILIENCE",
    remediation='Use sku = "Premium" with at least one georeplications { location = … } block in another region.',
    equivalents={"checkov": ("CKV_AZURE_165",)},
)
def azure_acr_georeplication(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A registry in one region stops every image pull (scale-out, node replacement, recovery) in every
    region when its own region fails. Only the Premium SKU can replicate, so any other SKU fails.
    """
    sku_state, sku = setting(r, "sku")
    rep_state, _ = setting(r, "georeplications")
    if sku_state != "set":
        return
    if sku == "Premium" and (rep_state != "absent" or "georeplications" in r.unknown_blocks):
        return  # replicas present, or made by a dynamic block we cannot count
    yield Hit(f"{r.address} has no geo-replica (sku {sku!r})", line=r.line_of("sku"), location="georeplications",
              fix='sku = "Premium"\ngeoreplications {\n  location = "northeurope"\n}')
