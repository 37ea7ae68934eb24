from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-109",
    title="RDS database without deletion protection",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster"),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set deletion_protection = true on production databases.",
    equivalents={"checkov": ("CKV_AWS_293", "CKV_AWS_139")},
)
def aws_rds_deletion_protection(r: TfResource, ctx: object) -> Iterator[Hit]:
    """One stray ``terraform destroy``, a renamed resource or a stolen deploy key deletes the database;
    deletion protection makes that a two-step change someone has to mean."""
    yield from require_on(r, ("deletion_protection",), "does not enable deletion protection",
                          "deletion_protection = true")
