from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-309",
    title="GCS bucket does not enforce public access prevention",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_storage_bucket",),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation='Set public_access_prevention = "enforced" on the bucket (or enforce the organization policy).',
    equivalents={"checkov": ("CKV_GCP_114",)},
)
def gcs_public_access_prevention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without public access prevention one IAM binding to allUsers (a typo, a copied snippet, a
    compromised admin) publishes the bucket; "enforced" makes such a grant fail."""
    value = r.get("public_access_prevention")
    if value == "enforced" or (value is not None and not known(value)):
        return
    shown = (f"sets public_access_prevention = {value!r}" if value is not None
             else "does not set public_access_prevention")
    yield Hit(f"{r.address} {shown}", line=r.line_of("public_access_prevention"),
              location="public_access_prevention", fix='public_access_prevention = "enforced"')
