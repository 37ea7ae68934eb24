from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-326",
    title="KMS crypto key not protected from terraform destroy",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_kms_crypto_key",),
    threats=("denial-of-service", "data-tampering"),
    control="CTRL-BACKUP-VERSIONING",
    remediation="Add lifecycle { prevent_destroy = true } to the key.",
    equivalents={"checkov": ("CKV_GCP_82",)},
)
def gcp_kms_prevent_destroy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Destroying a crypto key schedules every version for destruction: everything encrypted with it
    (disks, buckets, databases, secrets) becomes unreadable for good after a mistaken destroy or
    a refactoring that renames the resource."""
    value = (first(r, "lifecycle") or {}).get("prevent_destroy")
    if is_true(value) or (value is not None and not known(value)):
        return
    yield Hit(f"{r.address} can be destroyed by Terraform (no lifecycle.prevent_destroy)", line=r.line,
              location="lifecycle.prevent_destroy", fix="lifecycle {\n  prevent_destroy = true\n}")
