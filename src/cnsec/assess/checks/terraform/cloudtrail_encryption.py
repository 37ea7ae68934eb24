from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-015",
    title="CloudTrail logs not encrypted with a KMS key",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_cloudtrail",),
    threats=("defense-evasion", "data-breach"),
    control="CTRL-LOGGING",
    remediation="Set kms_key_id to a customer-managed KMS key whose policy limits who can decrypt the trail.",
    equivalents={"checkov": ("CKV_AWS_35",)},
)
def cloudtrail_encryption(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Trail logs describe every API call in the account (who, from where, on what); with SSE-KMS only
    principals allowed by the key policy can read them, and every read is itself logged."""
    if r.get("kms_key_id"):
        return
    yield Hit(f"{r.address} has no kms_key_id", line=r.line, location="kms_key_id",
              fix="kms_key_id = aws_kms_key.cloudtrail.arn")
