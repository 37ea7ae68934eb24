from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-333",
    title="Cloud SQL PostgreSQL does not log connections (log_connections)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_connections" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_52",)},
)
def gcp_pg_log_connections(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_connections the database log does not show who connected from where: a brute-force
    attempt or a login with a stolen password leaves no trace."""
    why = postgres_flag_problem(r, "log_connections", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_connections",
                  fix='database_flags {\n  name  = "log_connections"\n  value = "on"\n}')
