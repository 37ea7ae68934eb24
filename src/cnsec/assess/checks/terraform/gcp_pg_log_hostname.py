from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-337",
    title="Cloud SQL PostgreSQL does not log client host names (log_hostname)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_hostname" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_108",)},
)
def gcp_pg_log_hostname(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_hostname connection log lines carry only IP addresses, which are harder to attribute
    during an investigation."""
    why = postgres_flag_problem(r, "log_hostname", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_hostname",
                  fix='database_flags {\n  name  = "log_hostname"\n  value = "on"\n}')
