from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-146",
    title="Lambda function outside a VPC",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("data-breach",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation="Add vpc_config { subnet_ids = [...] security_group_ids = [...] } with tight egress.",
    equivalents={"checkov": ("CKV_AWS_117",)},
)
def aws_lambda_in_vpc(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Outside a VPC a function reaches the whole internet and no security group or flow log stands
    between its code and an exfiltration endpoint."""
    if r.blocks("vpc_config") or "vpc_config" in r.unknown_blocks:
        return
    yield Hit(f"{r.address} does not run in a VPC", line=r.line, location="vpc_config",
              fix="vpc_config {\n  subnet_ids         = var.private_subnet_ids\n"
                  "  security_group_ids = [aws_security_group.lambda.id]\n}")
