from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-224",
    title="Key Vault firewall allows every network",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_key_vault",),
    threats=("secret-access", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=('Add network_acls { default_action = "Deny"  bypass = "AzureServices"  ip_rules = [...] } '
                 "listing the networks that need the vault."),
    equivalents={"checkov": ("CKV_AZURE_109",)},
)
def azure_key_vault_firewall(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A vault that accepts every network answers any caller who holds a token for it: a token stolen
    from a laptop or CI job works from anywhere. A default-deny firewall limits it to known networks.
    """
    if setting(r, "network_acls")[0] == "set" and setting(r, "network_acls", "default_action")[0] == "absent":
        return  # default_action is required in the block: absent means we could not evaluate it
    yield from expect(r, "network_acls", "default_action", good=one_of("Deny"), default="Allow",
                      want="the firewall allows every network",
                      fix='network_acls {\n  default_action = "Deny"\n  bypass         = "AzureServices"\n}')
