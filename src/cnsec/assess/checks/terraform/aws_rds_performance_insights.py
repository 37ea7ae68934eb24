from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, require_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Engines and classes without Performance Insights (AWS's list; Checkov leaves them out too).
_SMALL = ("db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small")


@check(
    id="CNSEC-TF-113",
    title="RDS Performance Insights disabled",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster_instance"),
    threats=("denial-of-service",),
    control="CTRL-MONITORING",
    remediation="Set performance_insights_enabled = true (with performance_insights_kms_key_id).",
    equivalents={"checkov": ("CKV_AWS_353",)},
)
def aws_rds_performance_insights(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Performance Insights records which queries and which users load the database: the evidence of
    a data dump or an abusive client that plain metrics do not show."""
    engine, size = setting(r, "engine"), setting(r, "instance_class")
    if engine is UNKNOWN or str(engine).startswith("db2") or (engine in ("mariadb", "mysql") and size in _SMALL):
        return
    yield from require_on(r, ("performance_insights_enabled",), "does not enable Performance Insights",
                          "performance_insights_enabled    = true\n"
                          "performance_insights_kms_key_id = aws_kms_key.rds.arn")
