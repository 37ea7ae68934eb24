from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-156",
    title="S3 bucket without event notifications",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-tampering", "defense-evasion"),
    control="CTRL-MONITORING",
    remediation="Add an aws_s3_bucket_notification (to EventBridge, SNS, SQS or Lambda) for object events.",
    equivalents={"checkov": ("CKV2_AWS_62",)},
)
def aws_s3_event_notifications(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Object events are how a mass deletion, an overwrite with encrypted junk or an unexpected
    upload gets noticed while it happens rather than at the next audit."""
    if linked(ctx, r, ("aws_s3_bucket_notification",), "bucket"):
        return
    yield Hit(f"{r.address} sends no event notifications", line=r.line, location="notification",
              fix=(f'resource "aws_s3_bucket_notification" "{r.name}" {{\n'
                   f"  bucket      = aws_s3_bucket.{r.name}.id\n  eventbridge = true\n}}"))
