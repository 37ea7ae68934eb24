from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import unset
from cnsec.assess.checks.terraform._tf import nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-103",
    title="Security group or rule without a description",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
                    "aws_vpc_security_group_egress_rule", "aws_db_security_group",
                    "aws_elasticache_security_group", "aws_redshift_security_group"),
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation="Give the group and each of its rules a description saying what the rule is for.",
    equivalents={"checkov": ("CKV_AWS_23",)},
)
def aws_security_group_description(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A rule nobody can explain is a rule nobody dares to remove: undocumented openings pile up and
    reviews cannot tell the needed from the forgotten."""
    if unset(r, "description"):
        yield Hit(f"{r.address} has no description", line=r.line, location="description",
                  fix='description = "what this group/rule allows and why"')
        return
    if r.type != "aws_security_group":
        return
    for direction in ("ingress", "egress"):
        if direction in r.unknown_blocks:
            continue
        for n, rule in enumerate(r.blocks(direction)):
            desc = rule.get("description")
            if desc is None or desc == "":
                yield Hit(f"{r.address} {direction} rule {n} has no description",
                          line=nth_block_line(r, ctx, direction, n), location=f"{direction}[{n}].description",
                          fix='description = "what this rule allows and why"')
                return
