from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("ddl", "mod", "all")  # lower case


@check(
    id="CNSEC-TF-340",
    title="Cloud SQL PostgreSQL does not log SQL statements (log_statement)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_statement" value = "ddl" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_111",)},
)
def gcp_pg_log_statement(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_statement (ddl, mod or all) schema changes and data modifications leave no statement
    trail."""
    why = postgres_flag_problem(r, "log_statement", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_statement",
                  fix='database_flags {\n  name  = "log_statement"\n  value = "ddl"\n}')
