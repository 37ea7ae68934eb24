from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import postgres_flag_problem
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

VALUES = ("on",)  # lower case


@check(
    id="CNSEC-TF-336",
    title="Cloud SQL PostgreSQL does not log checkpoints (log_checkpoints)",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation='Add database_flags { name = "log_checkpoints" value = "on" } to the instance settings.',
    equivalents={"checkov": ("CKV_GCP_51",)},
)
def gcp_pg_log_checkpoints(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without log_checkpoints checkpoint activity is not logged, hiding write bursts that point at bulk
    tampering or an attack on availability."""
    why = postgres_flag_problem(r, "log_checkpoints", VALUES)
    if why:
        yield Hit(f"{r.address} {why}", line=r.line_of("settings"),
                  location="settings.database_flags.log_checkpoints",
                  fix='database_flags {\n  name  = "log_checkpoints"\n  value = "on"\n}')
