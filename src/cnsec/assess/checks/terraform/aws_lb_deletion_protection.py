from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-121",
    title="Load balancer without deletion protection",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_lb", "aws_alb"),
    threats=("denial-of-service",),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set enable_deletion_protection = true on production load balancers.",
    equivalents={"checkov": ("CKV_AWS_150",)},
)
def aws_lb_deletion_protection(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Deleting the load balancer takes the service and its DNS name down at once; protection makes
    that an explicit two-step change."""
    yield from require_on(r, ("enable_deletion_protection",), "does not enable deletion protection",
                          "enable_deletion_protection = true")
