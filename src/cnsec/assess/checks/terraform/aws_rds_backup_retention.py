from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-119",
    title="RDS automated backups disabled",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster"),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set backup_retention_period to 7 or more days (up to 35).",
    equivalents={"checkov": ("CKV_AWS_133",)},
)
def aws_rds_backup_retention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With a retention of 0 there are no automated backups and no point-in-time recovery: a
    ransomware ``DROP`` or a bad migration is final. Unset is the provider's default of one day."""
    value = setting(r, "backup_retention_period")
    days = to_int(value) if value is not UNKNOWN else None
    if days is None or 0 < days <= 35:
        return
    yield Hit(f"{r.address} sets backup_retention_period = {days}", line=r.line_of("backup_retention_period"),
              location="backup_retention_period", fix="backup_retention_period = 7")
