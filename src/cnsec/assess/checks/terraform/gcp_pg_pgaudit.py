from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-338",
    title="Cloud SQL PostgreSQL does not log pgAudit (cloudsql.enable_pgaudit)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "cloudsql.enable_pgaudit" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_110",)},
)
def gcp_pg_pgaudit(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without pgAudit there is no session or object audit log of who read or changed which data, which
    compliance reviews and breach investigations need."""
    why = postgres_flag_problem(r, "cloudsql.enable_pgaudit", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.cloudsql.enable_pgaudit",
                  fix='database_flags {\n  name  = "cloudsql.enable_pgaudit"\n  value = "on"\n}')
