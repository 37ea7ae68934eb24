from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-334",
    title="Cloud SQL PostgreSQL does not log disconnections (log_disconnections)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_disconnections" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_53",)},
)
def gcp_pg_log_disconnections(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_disconnections session ends and lengths are not logged, so an investigation cannot tell
    how long a suspicious session lasted."""
    why = postgres_flag_problem(r, "log_disconnections", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_disconnections",
                  fix='database_flags {\n  name  = "log_disconnections"\n  value = "on"\n}')
