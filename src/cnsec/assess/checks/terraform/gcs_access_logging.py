from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-310",
    title="GCS bucket without access logging",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_storage_bucket",),
    threats=("defense-evasion", "data-breach"),
    control="CTRL-LOGGING",
    remediation=("Add logging { log_bucket = <another bucket> } (or turn on data-access audit logs for "
                 "storage.googleapis.com)."),
    equivalents={"checkov": ("CKV_GCP_62",)},
)
def gcs_access_logging(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without usage logs (or data-access audit logs) nobody can tell which objects were read after a
    credential leak, nor by whom."""
    block = first(r, "logging")
    if block is not None and block.get("log_bucket") not in (None, ""):
        return
    if block is None and may_have(r, "logging"):
        return
    yield Hit(f"{r.address} does not log access (no logging.log_bucket)", line=r.line_of("logging"),
              location="logging", fix='logging {\n  log_bucket = google_storage_bucket.access_logs.name\n}')
