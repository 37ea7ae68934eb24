from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-247",
    title="Network interface has a public IP address",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_network_interface",),
    threats=("exposed-interface",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Remove public_ip_address_id; publish services through a load balancer or gateway and reach VMs "
                 "through Azure Bastion."),
    equivalents={"checkov": ("CKV_AZURE_119",)},
)
def azure_nic_public_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A VM with its own public IP is directly on the internet: every port its NSG (or a later NSG
    change) allows is reachable, bypassing the load balancers and gateways meant to front it.
    """
    for n, config in enumerate(r.blocks("ip_configuration")):
        if config.get("public_ip_address_id") is not None:
            yield Hit(f"{r.address} ip_configuration {config.get('name', n)!r} has a public IP address",
                      line=nth_block_line(r, ctx, "ip_configuration", n), location=f"ip_configuration[{n}]",
                      fix="# remove from ip_configuration:\npublic_ip_address_id = azurerm_public_ip.vm.id")
