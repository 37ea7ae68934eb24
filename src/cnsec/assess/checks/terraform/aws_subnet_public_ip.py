from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import is_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-151",
    title="Subnet gives public IP addresses by default",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_subnet", "aws_default_subnet"),
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation="Set map_public_ip_on_launch = false; give public addresses only to load balancers and NAT.",
    equivalents={"checkov": ("CKV_AWS_130",)},
)
def aws_subnet_public_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Every instance launched here gets an internet address whether or not it should be reachable."""
    value = setting(r, "map_public_ip_on_launch")
    on = is_on(value) if value is not None else r.type == "aws_default_subnet"
    if on is not True:
        return
    yield Hit(f"{r.address} maps public IPs on launch", line=r.line_of("map_public_ip_on_launch"),
              location="map_public_ip_on_launch", fix="map_public_ip_on_launch = false")
