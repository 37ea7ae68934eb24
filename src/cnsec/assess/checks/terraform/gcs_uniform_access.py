from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-018",
    title="GCS bucket without uniform bucket-level access",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_storage_bucket",),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set uniform_bucket_level_access = true (and public_access_prevention = \"enforced\").",
    equivalents={"checkov": ("CKV_GCP_29",)},
)
def gcs_uniform_access(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With fine-grained (per-object) ACLs any object can be made public on its own, out of sight of
    the bucket's IAM policy; uniform access makes IAM the only way in."""
    value = truth(r.get("uniform_bucket_level_access"))
    if value is True or (value is None and r.get("uniform_bucket_level_access") is not None):
        return
    yield Hit(f"{r.address} does not enable uniform bucket-level access",
              line=r.line_of("uniform_bucket_level_access"), location="uniform_bucket_level_access",
              fix="uniform_bucket_level_access = true\npublic_access_prevention    = \"enforced\"")
