from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-205",
    title="AKS cluster does not run the Azure Policy add-on",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("privilege-escalation", "container-escape"),
    control="CTRL-CONTROL-PLANE",
    remediation="Set azure_policy_enabled = true (addon_profile.azure_policy.enabled in azurerm < 3).",
    equivalents={"checkov": ("CKV_AZURE_116",)},
)
def azure_aks_azure_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without an admission policy engine nothing stops a privileged or host-mounting pod at deploy time;
    the Azure Policy add-on (Gatekeeper) enforces the pod-security baseline centrally.
    """
    state_new = r.attrs.get("azure_policy_enabled")
    if state_new is None and r.get("addon_profile", "azure_policy") is not None:
        yield from expect(r, "addon_profile", "azure_policy", "enabled", good=is_true, default=False,
                          want="the policy add-on is off", fix="azure_policy_enabled = true")
        return
    yield from expect(r, "azure_policy_enabled", good=is_true, default=False, want="the policy add-on is off",
                      fix="azure_policy_enabled = true")
