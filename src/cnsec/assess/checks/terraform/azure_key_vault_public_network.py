from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-225",
    title="Key Vault is reachable from any public network",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_key_vault",),
    threats=("secret-access", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Set public_network_access_enabled = false (private endpoint), or restrict network_acls to "
                 "ip_rules/subnets."),
    equivalents={"checkov": ("CKV_AZURE_189",)},
)
def azure_key_vault_public_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Secrets and keys served on a public endpoint with no IP or subnet rules can be requested from
    anywhere with a stolen token. Public access off, rules naming the allowed networks, or a
    default-deny firewall pass (Checkov fails the last when it lists no rules; nothing public gets in).
    """
    state, public = setting(r, "public_network_access_enabled")
    if state == "unknown" or (state == "set" and str(public).lower() == "false"):
        return
    for attr in ("ip_rules", "virtual_network_subnet_ids"):
        rules, _ = setting(r, "network_acls", attr)
        if rules != "absent":
            return
    acls = setting(r, "network_acls")[0]
    action_state, action = setting(r, "network_acls", "default_action")
    if acls == "unknown" or action_state == "unknown" or (acls == "set" and action_state == "absent"):
        return  # default_action is required in the block: absent means we could not evaluate it
    if str(action).lower() == "deny":
        return  # a default-deny firewall with no allow rules lets no public network in
    yield Hit(f"{r.address} serves its public endpoint with no network rules",
              line=r.line_of("public_network_access_enabled"), location="public_network_access_enabled",
              fix="public_network_access_enabled = false")
