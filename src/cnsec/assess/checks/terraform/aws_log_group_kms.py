from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-101",
    title="CloudWatch log group not encrypted with a customer-managed KMS key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_cloudwatch_log_group",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set kms_key_id to a customer-managed KMS key whose policy lets the logs service use it.",
    equivalents={"checkov": ("CKV_AWS_158",)},
)
def aws_log_group_kms(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Logs carry request bodies, tokens and personal data; with a customer-managed key, reading them
    needs the key too, access to it is logged, and revoking it revokes every reader."""
    if not unset(r, "kms_key_id"):
        return
    yield Hit(f"{r.address} is not encrypted with a customer-managed KMS key", line=r.line,
              location="kms_key_id", fix="kms_key_id = aws_kms_key.logs.arn")
