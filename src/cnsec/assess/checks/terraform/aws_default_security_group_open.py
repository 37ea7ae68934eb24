from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-133",
    title="VPC's default security group allows traffic",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_vpc",),
    threats=("lateral-movement", "exposed-interface"),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation=("Manage the default group and empty it: resource \"aws_default_security_group\" "
                 "\"default\" { vpc_id = aws_vpc.main.id } (no ingress or egress blocks)."),
    equivalents={"checkov": ("CKV2_AWS_12",)},
)
def aws_default_security_group_open(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Anything launched without a security group lands in the default one, which by default lets
    its members talk to each other and out anywhere: the forgotten instance becomes a bridge.

    Passes when the configuration manages the VPC's default group with no rules; a VPC whose default
    group is not managed here keeps AWS's open default (as Checkov judges it).
    """
    groups = linked(ctx, r, ("aws_default_security_group",), "vpc_id")
    if any(not g.blocks("ingress") and not g.blocks("egress") and not g.unknown_blocks for g in groups):
        return
    if any(g.unknown_blocks for g in groups):
        return
    why = "has rules" if groups else "is not managed, so it keeps AWS's allow rules"
    yield Hit(f"{r.address}: the default security group {why}", line=r.line, location="default security group",
              fix=(f'resource "aws_default_security_group" "default" {{\n  vpc_id = aws_vpc.{r.name}.id\n'
                   "  # no ingress or egress: nothing may use the default group\n}"))
