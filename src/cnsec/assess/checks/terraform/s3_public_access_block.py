from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import others, refers_to, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _fix(name: str) -> str:
    body = "\n".join(f"  {f} = true" for f in FLAGS)
    return (f'resource "aws_s3_bucket_public_access_block" "{name}" {{\n'
            f"  bucket = aws_s3_bucket.{name}.id\n{body}\n}}")


@check(
    id="CNSEC-TF-003",
    title="S3 bucket without a complete public access block",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_s3_bucket", "aws_s3_bucket_public_access_block"),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Add an aws_s3_bucket_public_access_block for the bucket with all four settings true.",
    equivalents={"checkov": ("CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56")},
)
def s3_public_access_block(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The public access block is the guard rail that keeps a later ACL or bucket policy mistake from
    publishing the data; without all four settings one careless change makes the bucket public.

    A bucket passes when a public access block resource names it, or when an account-wide
    ``aws_s3_account_public_access_block`` sets all four; a bucket-level block fails on its own if any
    of the four settings is false or missing (the AWS default for each is false).
    """
    if r.type == "aws_s3_bucket_public_access_block":
        missing = [f for f in FLAGS if truth(r.get(f)) is not True and not _unknown(r.get(f))]
        if missing:
            yield Hit(f"{r.address} does not set {', '.join(missing)} to true",
                      line=r.line_of(missing[0]), location="flags",
                      fix="\n".join(f"{f} = true" for f in missing))
        return
    for pab in others(ctx, "aws_s3_bucket_public_access_block"):
        if refers_to(pab.get("bucket"), r):
            return
    for acct in others(ctx, "aws_s3_account_public_access_block"):
        if all(truth(acct.get(f)) is not False for f in FLAGS) and all(f in acct.attrs for f in FLAGS):
            return  # the account-wide block covers every bucket
    yield Hit(f"bucket {r.name!r} has no aws_s3_bucket_public_access_block", line=r.line,
              location="public_access_block", fix=_fix(r.name))


def _unknown(value: object) -> bool:
    return isinstance(value, str) and "${" in value
