from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-140",
    title="VPC without flow logs",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_vpc",),
    threats=("defense-evasion", "lateral-movement"),
    control="CTRL-LOGGING",
    remediation="Add an aws_flow_log for the VPC (traffic_type = \"ALL\") to CloudWatch Logs or S3.",
    equivalents={"checkov": ("CKV2_AWS_11",)},
)
def aws_vpc_flow_logs(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Flow logs are the only record of which host talked to which: without them scanning,
    lateral movement and exfiltration inside the VPC leave nothing to investigate."""
    if linked(ctx, r, ("aws_flow_log",), "vpc_id"):
        return
    yield Hit(f"{r.address} has no flow log", line=r.line, location="flow log",
              fix=(f'resource "aws_flow_log" "{r.name}" {{\n  vpc_id          = aws_vpc.{r.name}.id\n'
                   '  traffic_type    = "ALL"\n  log_destination = aws_cloudwatch_log_group.flow.arn\n'
                   "  iam_role_arn    = aws_iam_role.flow.arn\n}"))
