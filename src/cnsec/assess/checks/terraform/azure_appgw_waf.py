from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-253",
    title="Application Gateway has no web application firewall",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_application_gateway",),
    threats=("sql-injection", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=('Use sku tier "WAF_v2" with firewall_policy_id pointing at an azurerm_web_application_firewall_policy '
                 "(or waf_configuration { enabled = true })."),
    equivalents={"checkov": ("CKV_AZURE_120",)},
)
def azure_appgw_waf(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a WAF the gateway forwards injection, traversal and known-exploit requests straight to
    the application; the OWASP core rule set stops most of them at the edge.
    """
    state, enabled = setting(r, "waf_configuration", "enabled")
    if state == "unknown" or (state == "set" and str(enabled).lower() == "true"):
        return
    if setting(r, "firewall_policy_id")[0] != "absent":
        return
    if linked(ctx, r, ("azurerm_web_application_firewall_policy",), "application_gateway_id") is not False:
        return
    yield Hit(f"{r.address} has no WAF (no firewall_policy_id, waf_configuration off)", line=r.line,
              location="firewall_policy_id",
              fix="firewall_policy_id = azurerm_web_application_firewall_policy.waf.id")
