from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import is_expr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


def _all_objects(rule: dict[str, Any]) -> bool:
    """Whether a rule's filter leaves out no object (no prefix or size limit, also inside ``and``):
    parts of uploads under other prefixes would stay."""
    for f in rule.get("filter") or []:
        if not isinstance(f, dict):
            continue
        for cond in [f, *[a for a in f.get("and") or [] if isinstance(a, dict)]]:
            if cond.get("prefix") or cond.get("object_size_greater_than"):
                return False
    return not rule.get("prefix")


@check(
    id="CNSEC-TF-157",
    title="S3 lifecycle keeps failed multipart uploads",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_s3_bucket_lifecycle_configuration",),
    threats=("data-breach",),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add abort_incomplete_multipart_upload { days_after_initiation = 7 } to an enabled rule.",
    equivalents={"checkov": ("CKV_AWS_300",)},
)
def aws_s3_abort_multipart(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Parts of interrupted uploads stay in the bucket, invisible in listings and unbilled to no one,
    until a rule removes them: data nobody knows is there."""
    if "rule" in r.unknown_blocks:
        return
    for rule in r.blocks("rule"):
        status = rule.get("status")
        if rule.get("abort_incomplete_multipart_upload") and (status == "Enabled" or is_expr(status)) \
                and _all_objects(rule):
            return
    yield Hit(f"{r.address} has no enabled rule aborting incomplete multipart uploads", line=r.line_of("rule"),
              location="rule.abort_incomplete_multipart_upload",
              fix="rule {\n  id     = \"abort-mpu\"\n  status = \"Enabled\"\n  filter {}\n"
                  "  abort_incomplete_multipart_upload {\n    days_after_initiation = 7\n  }\n}")
