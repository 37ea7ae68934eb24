from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-204",
    title="AKS control plane has no uptime SLA (Free tier)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("denial-of-service",),
    control="CTRL-CLOUD-RESILIENCE",
    remediation='Set sku_tier = "Standard" (or "Premium") for production clusters.',
    equivalents={"checkov": ("CKV_AZURE_170",)},
)
def azure_aks_paid_sku(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The Free tier's API server has no SLA and limited capacity: under load or an incident the control
    plane (and with it scaling, admission and the security tooling that talks to it) may be unavailable.

    Checkov accepts only "Standard"; "Premium" is a paid tier with the same SLA and passes here.
    """
    yield from expect(r, "sku_tier", good=one_of("Standard", "Premium", "Paid"), default="Free",
                      want="the Free tier has no uptime SLA", fix='sku_tier = "Standard"')
