from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-111",
    title="RDS database logs not exported to CloudWatch",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster"),
    threats=("defense-evasion", "sql-injection"),
    control="CTRL-LOGGING",
    remediation=('Set enabled_cloudwatch_logs_exports (e.g. ["postgresql"], ["audit", "error", "general", '
                 '"slowquery"] for MySQL).'),
    equivalents={"checkov": ("CKV_AWS_129", "CKV_AWS_324")},
)
def aws_rds_log_exports(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Failed logins, injected queries and privilege changes show in the engine's logs; kept only on
    the instance they rotate away within days and die with it."""
    yield from require_set(r, ("enabled_cloudwatch_logs_exports",), "exports no logs to CloudWatch",
                           'enabled_cloudwatch_logs_exports = ["postgresql"]')
