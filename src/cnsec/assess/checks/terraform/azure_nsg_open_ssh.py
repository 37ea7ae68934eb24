from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import open_inbound_rules
from cnsec.assess.checks.terraform._tf import nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-244",
    title="Network security group opens SSH (port 22) to the internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_network_security_group", "azurerm_network_security_rule"),
    threats=("exposed-interface", "credential-abuse"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Restrict source_address_prefix(es) to known ranges or a service tag; "
                 "reach VMs through Azure Bastion or just-in-time access."),
    equivalents={"checkov": ("CKV_AZURE_10",)},
)
def azure_nsg_open_ssh(r: TfResource, ctx: object) -> Iterator[Hit]:
    """SSH open to the internet is brute-forced within minutes of exposure and exposes every sshd flaw.
    """
    for n, rule in open_inbound_rules(r, 22):
        inline = r.type == "azurerm_network_security_group"
        yield Hit(f"{r.address} rule {rule.get('name', n)!r} allows SSH (port 22) from the internet",
                  line=nth_block_line(r, ctx, "security_rule", n) if inline else r.line_of("source_address_prefix"),
                  location=f"security_rule[{n}]" if inline else "source_address_prefix",
                  fix='source_address_prefix = "203.0.113.0/24"  # your admin range, or a VirtualNetwork tag')
