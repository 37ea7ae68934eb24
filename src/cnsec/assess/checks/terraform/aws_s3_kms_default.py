from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.checks.terraform._tf import is_expr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


def _algorithms(config: Any) -> list[Any]:
    rules = config.get("rule") if isinstance(config, dict) else None
    out = []
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, dict):
            continue
        default = rule.get("apply_server_side_encryption_by_default")
        for d in default if isinstance(default, list) else [default]:
            if isinstance(d, dict):
                out.append(d.get("sse_algorithm"))
    return out


@check(
    id="CNSEC-TF-138",
    title="S3 bucket not encrypted with KMS by default",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_s3_bucket",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation='Set apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" kms_master_key_id = ... }.',
    equivalents={"checkov": ("CKV_AWS_145",)},
)
def aws_s3_kms_default(r: TfResource, ctx: object) -> Iterator[Hit]:
    """SSE-S3 (AES256) encrypts with keys anyone allowed s3:GetObject implicitly uses; SSE-KMS makes
    every read also need kms:Decrypt on a key whose use is logged and can be revoked.

    Only a bucket whose encryption is known and is not KMS fails; an unknown algorithm passes.
    """
    algorithms = [a for c in r.blocks("server_side_encryption_configuration") for a in _algorithms(c)]
    for sse in linked(ctx, r, ("aws_s3_bucket_server_side_encryption_configuration",), "bucket"):
        algorithms += [a for a in _algorithms(sse.attrs)]
    if any(a is None or is_expr(a) or str(a).startswith("aws:kms") for a in algorithms) or (
            "server_side_encryption_configuration" in r.unknown_blocks):
        return
    yield Hit(f"{r.address} is not encrypted with KMS by default", line=r.line,
              location="server_side_encryption_configuration",
              fix=(f'resource "aws_s3_bucket_server_side_encryption_configuration" "{r.name}" {{\n'
                   f"  bucket = aws_s3_bucket.{r.name}.id\n  rule {{\n"
                   "    apply_server_side_encryption_by_default {\n      sse_algorithm     = \"aws:kms\"\n"
                   f"      kms_master_key_id = aws_kms_key.{r.name}.arn\n    }}\n  }}\n}}"))
