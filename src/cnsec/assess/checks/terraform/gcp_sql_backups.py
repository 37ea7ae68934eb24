from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, known, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-325",
    title="Cloud SQL instance without automated backups",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Set settings { backup_configuration { enabled = true } } (and point_in_time_recovery_enabled).",
    equivalents={"checkov": ("CKV_GCP_14",)},
)
def gcp_sql_backups(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without backups a dropped table, a ransomware ``DELETE`` or a bad migration is permanent.

    Read replicas (``master_instance_name`` set) cannot have their own backups and pass.
    """
    if r.get("master_instance_name") is not None:
        return
    backup = sub(first(r, "settings"), "backup_configuration")
    if backup is None and "backup_configuration" in r.unknown_blocks:
        return
    value = (backup or {}).get("enabled")
    if is_true(value) or (value is not None and not known(value)):
        return
    yield Hit(f"{r.address} does not enable automated backups", line=r.line_of("settings"),
              location="settings.backup_configuration.enabled",
              fix=("backup_configuration {\n  enabled                        = true\n"
                   "  point_in_time_recovery_enabled = true\n}"))
