from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-001",
    title="S3 bucket without server-side encryption",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Configure server-side encryption (aws:kms with a customer-managed key) for the bucket.",
    equivalents={"checkov": ("CKV_AWS_19",)},
)
def s3_without_encryption(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An unencrypted bucket exposes its objects to anyone who reaches the storage layer or a copy of it.

    Encryption can be configured inline (legacy ``server_side_encryption_configuration``) or by a
    separate ``aws_s3_bucket_server_side_encryption_configuration`` resource naming this bucket.
    """
    if r.blocks("server_side_encryption_configuration"):
        return
    inv = getattr(ctx, "inventory", None)
    if inv is not None:
        for other in inv.terraform:
            if other.type == "aws_s3_bucket_server_side_encryption_configuration":
                ref = str(other.get("bucket") or "")
                if f"aws_s3_bucket.{r.name}." in ref + "." or ref == r.get("bucket"):
                    return
    yield Hit(f"bucket {r.name!r} has no server-side encryption configuration", line=r.line,
              location="server_side_encryption_configuration",
              fix=(f'resource "aws_s3_bucket_server_side_encryption_configuration" "{r.name}" {{\n'
                   f"  bucket = aws_s3_bucket.{r.name}.id\n  rule {{\n"
                   f"    apply_server_side_encryption_by_default {{\n      sse_algorithm     = \"aws:kms\"\n"
                   f"      kms_master_key_id = aws_kms_key.{r.name}.arn\n    }}\n  }}\n}}"))
