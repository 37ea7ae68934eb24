from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error")  # lower case


@check(
    id="CNSEC-TF-341",
    title="Cloud SQL PostgreSQL does not log failing statements (log_min_error_statement)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_min_error_statement" value = "error" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_109",)},
)
def gcp_pg_log_min_error_statement(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Unless log_min_error_statement is ERROR or lower, statements that fail with an error are not logged:
    SQL-injection probing shows up mostly as failing statements."""
    why = postgres_flag_problem(r, "log_min_error_statement", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_min_error_statement",
                  fix='database_flags {\n  name  = "log_min_error_statement"\n  value = "error"\n}')
