from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-155",
    title="S3 bucket without a lifecycle configuration",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-breach",),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add an aws_s3_bucket_lifecycle_configuration that expires (or archives) what is no longer needed.",
    equivalents={"checkov": ("CKV2_AWS_61",)},
)
def aws_s3_lifecycle(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Data kept forever is data that can leak forever: old exports, logs and noncurrent versions no
    one needs are still there for the attacker (and for retention rules to be broken)."""
    if r.blocks("lifecycle_rule") or "lifecycle_rule" in r.unknown_blocks:
        return
    if linked(ctx, r, ("aws_s3_bucket_lifecycle_configuration",), "bucket"):
        return
    yield Hit(f"{r.address} has no lifecycle configuration", line=r.line, location="lifecycle",
              fix=(f'resource "aws_s3_bucket_lifecycle_configuration" "{r.name}" {{\n'
                   f"  bucket = aws_s3_bucket.{r.name}.id\n  rule {{\n    id     = \"expire\"\n"
                   '    status = "Enabled"\n    filter {}\n    expiration {\n      days = 365\n    }\n'
                   "    abort_incomplete_multipart_upload {\n      days_after_initiation = 7\n    }\n  }\n}"))
