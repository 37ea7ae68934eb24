from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-335",
    title="Cloud SQL PostgreSQL does not log lock waits (log_lock_waits)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_lock_waits" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_54",)},
)
def gcp_pg_log_lock_waits(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_lock_waits long lock waits go unlogged: lock-based denial of service (or a runaway
    migration) is invisible until it is an outage."""
    why = postgres_flag_problem(r, "log_lock_waits", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_lock_waits",
                  fix='database_flags {\n  name  = "log_lock_waits"\n  value = "on"\n}')
