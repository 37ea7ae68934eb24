from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-139",
    title="S3 bucket not replicated to another region",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add an aws_s3_bucket_replication_configuration to a bucket in another region (or account).",
    equivalents={"checkov": ("CKV_AWS_144",)},
)
def aws_s3_replication(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A copy in another region (better, another account) survives a regional outage, a deleted
    bucket and an attacker who holds this account's keys; versioning alone does not."""
    if r.blocks("replication_configuration") or "replication_configuration" in r.unknown_blocks:
        return
    if linked(ctx, r, ("aws_s3_bucket_replication_configuration",), "bucket"):
        return
    yield Hit(f"{r.address} is not replicated", line=r.line, location="replication_configuration",
              fix=(f'resource "aws_s3_bucket_replication_configuration" "{r.name}" {{\n'
                   f"  bucket = aws_s3_bucket.{r.name}.id\n  role   = aws_iam_role.replication.arn\n"
                   '  rule {\n    status = "Enabled"\n    destination {\n'
                   "      bucket = aws_s3_bucket.replica.arn\n    }\n  }\n}"))
