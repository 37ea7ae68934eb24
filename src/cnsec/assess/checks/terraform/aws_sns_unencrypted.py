from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-160",
    title="SNS topic not encrypted at rest",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_sns_topic",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set kms_master_key_id (a customer-managed key, or alias/aws/sns).",
    equivalents={"checkov": ("CKV_AWS_26",)},
)
def aws_sns_unencrypted(r: TfResource, ctx: object) -> Iterator[Hit]:
    """SNS does not encrypt stored messages unless a KMS key is set: alerts, notifications and their
    payloads sit unencrypted until delivered."""
    yield from require_set(r, ("kms_master_key_id",), "is not encrypted at rest",
                           "kms_master_key_id = aws_kms_key.sns.arn")
