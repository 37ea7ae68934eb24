from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import anything, expect, is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-241",
    title="Container registry keeps untagged manifests forever",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Set retention_policy_in_days = 7 (retention_policy { enabled = true } in azurerm < 4; Premium SKU).",
    equivalents={"checkov": ("CKV_AZURE_167",)},
)
def azure_acr_retention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Untagged manifests pile up old, unpatched images that can still be pulled by digest.
    """
    if setting(r, "retention_policy")[0] != "absent":  # azurerm < 4
        yield from expect(r, "retention_policy", "enabled", good=is_true, default=False,
                          want="untagged manifests are never cleaned up", fix="retention_policy_in_days = 7")
        return
    yield from expect(r, "retention_policy_in_days", good=anything, default=None,
                      want="untagged manifests are never cleaned up",
                      fix="retention_policy_in_days = 7")
