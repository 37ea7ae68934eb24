from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-112",
    title="RDS enhanced monitoring disabled",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster_instance"),
    threats=("denial-of-service",),
    control="CTRL-MONITORING",
    remediation="Set monitoring_interval = 60 (or less) and monitoring_role_arn.",
    equivalents={"checkov": ("CKV_AWS_118",)},
)
def aws_rds_enhanced_monitoring(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Operating-system metrics (processes, memory, I/O) are what tell an exhausted or abused database
    from a slow query; without them an incident is diagnosed blind."""
    value = setting(r, "monitoring_interval")
    if value is UNKNOWN:
        return
    seconds = to_int(value)
    if seconds is not None and seconds > 0:
        return
    yield Hit(f"{r.address} does not enable enhanced monitoring", line=r.line_of("monitoring_interval"),
              location="monitoring_interval",
              fix="monitoring_interval = 60\nmonitoring_role_arn = aws_iam_role.rds_monitoring.arn")
