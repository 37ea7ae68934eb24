from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Subnets Azure does not let you (or need you to) attach an NSG to.
EXEMPT = frozenset({"gatewaysubnet", "azurefirewallsubnet", "azurefirewallmanagementsubnet", "routeserversubnet"})


@check(
    id="CNSEC-TF-248",
    title="Subnet has no network security group",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_subnet",),
    threats=("lateral-movement", "exposed-interface"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Associate an NSG with the subnet (azurerm_subnet_network_security_group_association).",
    equivalents={"checkov": ("CKV2_AZURE_31",)},
)
def azure_subnet_nsg(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A subnet without an NSG filters nothing: every VM and private endpoint in it accepts any traffic
    the virtual network routes to it, so one compromised host reaches all of them.

    Gateway, firewall and route-server subnets cannot carry an NSG and pass, as do subnets delegated to
    NetApp volumes; an association whose subnet_id we cannot follow is unknown.
    """
    state, name = setting(r, "name")
    if state == "unknown" or (isinstance(name, str) and name.lower() in EXEMPT):
        return
    if "microsoft.netapp/volumes" in str(r.attrs.get("delegation", "")).lower():
        return
    if setting(r, "network_security_group_id")[0] != "absent":  # azurerm 1.x
        return
    if linked(ctx, r, ("azurerm_subnet_network_security_group_association",), "subnet_id") is not False:
        return
    yield Hit(f"{r.address} has no network security group associated", line=r.line,
              location="network_security_group",
              fix=('resource "azurerm_subnet_network_security_group_association" "nsg" {\n'
                   f"  subnet_id                 = azurerm_subnet.{r.name}.id\n"
                   "  network_security_group_id = azurerm_network_security_group.nsg.id\n}"))
