from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-240",
    title="Container registry does not quarantine new images",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Set quarantine_policy_enabled = true (Premium SKU) and release images after a scan.",
    equivalents={"checkov": ("CKV_AZURE_166",)},
)
def azure_acr_quarantine(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without quarantine an image is pullable the moment it is pushed, before a vulnerability scan had
    a chance to stop it.
    """
    yield from expect(r, "quarantine_policy_enabled", good=is_true, default=False,
                      want="pushed images are pullable before any scan",
                      fix="quarantine_policy_enabled = true")
