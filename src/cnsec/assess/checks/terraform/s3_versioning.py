from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import others, refers_to, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-004",
    title="S3 bucket versioning disabled",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-tampering",),
    control="CTRL-BACKUP-VERSIONING",
    remediation=("Enable versioning: an aws_s3_bucket_versioning resource with versioning_configuration "
                 "{ status = \"Enabled\" } (and consider MFA delete / object lock for critical data)."),
    equivalents={"checkov": ("CKV_AWS_21",)},
)
def s3_versioning(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without versioning an overwritten or deleted object is gone: ransomware or a leaked key with
    write access destroys the data for good."""
    for block in r.blocks("versioning"):
        if truth(block.get("enabled")) is not False:
            return
    for v in others(ctx, "aws_s3_bucket_versioning"):
        if refers_to(v.get("bucket"), r):
            status = v.get("versioning_configuration", "status")
            if status not in ("Disabled", "Suspended"):
                return
    line = r.line_of("versioning") if r.blocks("versioning") else r.line
    yield Hit(f"bucket {r.name!r} does not enable versioning", line=line, location="versioning",
              fix=(f'resource "aws_s3_bucket_versioning" "{r.name}" {{\n  bucket = aws_s3_bucket.{r.name}.id\n'
                   '  versioning_configuration {\n    status = "Enabled"\n  }\n}'))
