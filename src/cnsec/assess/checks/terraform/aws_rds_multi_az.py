from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-116",
    title="RDS instance not Multi-AZ",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_db_instance",),
    threats=("denial-of-service",),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set multi_az = true for production databases.",
    equivalents={"checkov": ("CKV_AWS_157",)},
)
def aws_rds_multi_az(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A single-AZ database goes down with its zone or host and comes back from the last backup;
    a standby in another zone takes over in a minute without data loss."""
    yield from require_on(r, ("multi_az",), "is not Multi-AZ", "multi_az = true")
