from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, neighbours, setting
from cnsec.assess.checks.terraform._tf import refers_to
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
    policy_id = r.attrs.get("firewall_policy_id")  # a reference, which setting() calls unknown
    if policy_id is not None:
        for policy in neighbours(ctx, r, "azurerm_web_application_firewall_policy"):
            on_state, on = setting(policy, "policy_settings", "enabled")
            if refers_to(policy_id, policy) and on_state == "set" and str(on).lower() == "false":
                yield Hit(f"{r.address} uses {policy.address}, whose policy_settings.enabled = false",
                          line=r.line_of("firewall_policy_id"), location="firewall_policy_id",
                          fix="policy_settings {\n  enabled = true\n  mode    = \"Prevention\"\n}")
        return
    if linked(ctx, r, ("azurerm_web_application_firewall_policy",), "application_gateway_id") is not False:
        return
    yield Hit(f"{r.address} has no WAF (no firewall_policy_id, waf_configuration off)", line=r.line,
              location="firewall_policy_id",
              fix="firewall_policy_id = azurerm_web_application_firewall_policy.waf.id")
