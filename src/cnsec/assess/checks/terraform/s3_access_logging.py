from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import others, refers_to
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-005",
    title="S3 bucket access logging disabled",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Add an aws_s3_bucket_logging resource that sends access logs to a dedicated log bucket.",
    equivalents={"checkov": ("CKV_AWS_18",)},
)
def s3_access_logging(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without server access logs nobody can tell who read or deleted objects after a leak.

    A bucket that is itself a log target (``acl = "log-delivery-write"`` or named as
    ``target_bucket`` by another bucket's logging) passes: logging a log bucket into itself loops.
    Checkov's CKV_AWS_18 fails those too.
    """
    if r.blocks("logging") or r.get("acl") == "log-delivery-write":
        return
    inv = getattr(ctx, "inventory", None)
    for lg in others(ctx, "aws_s3_bucket_logging"):
        if refers_to(lg.get("bucket"), r) or refers_to(lg.get("target_bucket"), r):
            return
    if inv is not None:
        for b in inv.terraform:
            if b.type == "aws_s3_bucket" and b is not r:
                for block in b.blocks("logging"):
                    if refers_to(block.get("target_bucket"), r):
                        return
    yield Hit(f"bucket {r.name!r} writes no access logs", line=r.line, location="logging",
              fix=(f'resource "aws_s3_bucket_logging" "{r.name}" {{\n  bucket        = aws_s3_bucket.{r.name}.id\n'
                   '  target_bucket = aws_s3_bucket.logs.id\n  target_prefix = "s3/' + r.name + '/"\n}'))
