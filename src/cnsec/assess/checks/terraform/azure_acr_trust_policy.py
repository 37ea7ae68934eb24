from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-239",
    title="Container registry does not require signed images (content trust)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation=("Enable content trust (trust_policy_enabled = true; trust_policy { enabled = true } in azurerm < 4) "
                 "and sign images."),
    equivalents={"checkov": ("CKV_AZURE_164",)},
)
def azure_acr_trust_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without content trust a consumer cannot tell an image pushed by your pipeline from one pushed with
    a stolen token.
    """
    if setting(r, "trust_policy")[0] != "absent":  # azurerm < 4
        yield from expect(r, "trust_policy", "enabled", good=is_true, default=False,
                          want="unsigned images are accepted", fix="trust_policy_enabled = true")
        return
    yield from expect(r, "trust_policy_enabled", good=is_true, default=False,
                      want="unsigned images are accepted",
                      fix="trust_policy_enabled = true")
