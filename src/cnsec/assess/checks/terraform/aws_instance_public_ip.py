from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import is_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-107",
    title="EC2 instance gets a public IP address",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_instance", "aws_launch_template"),
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation=("Set associate_public_ip_address = false and put the instance in a private subnet behind a "
                 "load balancer or NAT; reach it through SSM Session Manager."),
    equivalents={"checkov": ("CKV_AWS_88",)},
)
def aws_instance_public_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An instance with a public address is one security-group mistake away from the internet's
    scanners, and bypasses the load balancer, WAF and NAT that would otherwise sit in front of it."""
    path = ("associate_public_ip_address",) if r.type == "aws_instance" else \
        ("network_interfaces", "associate_public_ip_address")
    if is_on(setting(r, *path)) is not True:
        return
    yield Hit(f"{r.address} sets associate_public_ip_address = true", line=r.line_of(path[0]),
              location=".".join(path), fix="associate_public_ip_address = false")
