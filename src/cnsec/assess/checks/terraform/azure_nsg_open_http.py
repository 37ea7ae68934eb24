from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import open_inbound_rules
from cnsec.assess.checks.terraform._tf import nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-246",
    title="Network security group opens plain HTTP (port 80) to the internet",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_network_security_group", "azurerm_network_security_rule"),
    threats=("network-interception", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Restrict source_address_prefix(es) to known ranges or a service tag; "
                 "serve HTTPS (443) and redirect HTTP at an Application Gateway or Front Door."),
    equivalents={"checkov": ("CKV_AZURE_160",)},
)
def azure_nsg_open_http(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Plain HTTP from the internet carries cookies and credentials unencrypted; a public web tier should
    accept HTTPS and let a gateway do the redirect.
    """
    for n, rule in open_inbound_rules(r, 80):
        inline = r.type == "azurerm_network_security_group"
        yield Hit(f"{r.address} rule {rule.get('name', n)!r} allows plain HTTP (port 80) from the internet",
                  line=nth_block_line(r, ctx, "security_rule", n) if inline else r.line_of("source_address_prefix"),
                  location=f"security_rule[{n}]" if inline else "source_address_prefix",
                  fix='source_address_prefix = "203.0.113.0/24"  # your admin range, or a VirtualNetwork tag')
