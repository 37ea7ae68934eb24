from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, is_expr, nth_block_line, to_int, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

WORLD = ("0.0.0.0/0", "::/0", "0000:0000:0000:0000:0000:0000:0000:0000/0")


def _open_to_all(rule: dict[str, Any]) -> bool:
    """Whether an egress rule lets every port and protocol out to the whole internet.

    A rule limited to itself, a prefix list or another security group is not open; one whose ports
    or addresses are unknown is not reported.
    """
    if truth(rule.get("self")) or rule.get("prefix_list_ids") or rule.get("security_groups") \
            or rule.get("source_security_group_id") or rule.get("referenced_security_group_id"):
        return False
    protocol = str(rule.get("protocol", rule.get("ip_protocol", ""))).strip().lower()
    lo, hi = to_int(rule.get("from_port")), to_int(rule.get("to_port"))
    all_ports = protocol in ("-1", "all") or (lo is not None and hi is not None and lo <= -1 <= hi)
    if not all_ports:
        return False
    cidrs = [*as_list(rule.get("cidr_blocks")), *as_list(rule.get("ipv6_cidr_blocks")),
             *as_list(rule.get("cidr_ipv4")), *as_list(rule.get("cidr_ipv6"))]
    return any(isinstance(c, str) and not is_expr(c) and c.strip() in WORLD for c in cidrs)


@check(
    id="CNSEC-TF-104",
    title="Security group lets all traffic out to the internet",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_egress_rule"),
    threats=("data-breach", "lateral-movement"),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation=("Allow egress only to the ports and destinations the workload needs (VPC endpoints, the "
                 "proxy, known CIDRs or security groups) instead of all protocols to 0.0.0.0/0."),
    equivalents={"checkov": ("CKV_AWS_382",)},
)
def aws_security_group_open_egress(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Unrestricted egress is what lets a compromised host fetch its tools, reach a command-and-control
    server and send the data out; a tight egress list turns each of those into a blocked, logged
    connection."""
    if r.type == "aws_security_group":
        rules = list(enumerate(r.blocks("egress")))
    elif r.type == "aws_security_group_rule":
        rules = [(0, r.attrs)] if r.get("type") == "egress" else []
    else:
        rules = [(0, r.attrs)]
    for n, rule in rules:
        if _open_to_all(rule):
            line = nth_block_line(r, ctx, "egress", n) if r.type == "aws_security_group" else r.line
            yield Hit(f"{r.address} allows all protocols and ports out to the internet", line=line,
                      location=f"egress[{n}]" if r.type == "aws_security_group" else "cidr_blocks",
                      fix='protocol    = "tcp"\nfrom_port   = 443\nto_port     = 443\n'
                          'cidr_blocks = ["10.0.0.0/8"]  # or a prefix list / security group')
            return
