from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-118",
    title="RDS snapshots do not copy the database's tags",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster"),
    threats=("data-breach",),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set copy_tags_to_snapshot = true.",
    equivalents={"checkov": ("CKV_AWS_313", "CKV2_AWS_60")},
)
def aws_rds_copy_tags(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Tags carry the data's classification, owner and the tag conditions of IAM policies; a snapshot
    without them escapes tag-based access control and retention rules."""
    yield from require_on(r, ("copy_tags_to_snapshot",), "does not copy its tags to snapshots",
                          "copy_tags_to_snapshot = true")
