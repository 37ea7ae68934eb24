from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-238",
    title="Container registry is reachable from public networks",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_container_registry",),
    threats=("malicious-image", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set public_network_access_enabled = false (Premium SKU) and pull through a private endpoint.",
    equivalents={"checkov": ("CKV_AZURE_139",)},
)
def azure_acr_public_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A registry on the public endpoint can be pulled from (and, with a leaked token, pushed to) from anywhere:
    images leak their code and secrets, and a pushed image runs in every cluster that pulls it.
    """
    yield from expect(r, "public_network_access_enabled", good=is_false, default=True,
                      want="the public endpoint is on by default",
                      fix="public_network_access_enabled = false")
