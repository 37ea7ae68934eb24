from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-339",
    title="Cloud SQL PostgreSQL does not log statement durations (log_duration)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_duration" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV2_GCP_13",)},
)
def gcp_pg_log_duration(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_duration statement durations are not logged, so unusually long data-dumping queries do
    not stand out."""
    why = postgres_flag_problem(r, "log_duration", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_duration",
                  fix='database_flags {\n  name  = "log_duration"\n  value = "on"\n}')
