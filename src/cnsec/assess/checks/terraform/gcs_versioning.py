from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, known, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-311",
    title="GCS bucket without object versioning",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_storage_bucket",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add versioning { enabled = true } (with a lifecycle rule that ages out old versions).",
    equivalents={"checkov": ("CKV_GCP_78",)},
)
def gcs_versioning(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without versioning an overwritten or deleted object is gone: ransomware, a bad deploy or a
    compromised writer destroys the data with no way back."""
    block = first(r, "versioning")
    if block is None and may_have(r, "versioning"):
        return
    value = block.get("enabled") if block else None
    if is_true(value) or (value is not None and not known(value)):
        return
    yield Hit(f"{r.address} does not enable versioning", line=r.line_of("versioning"), location="versioning",
              fix="versioning {\n  enabled = true\n}")
