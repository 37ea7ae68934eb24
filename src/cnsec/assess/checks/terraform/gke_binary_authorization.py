from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, known, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_OFF = (False, "false", "DISABLED", "EVALUATION_MODE_UNSPECIFIED")


@check(
    id="CNSEC-TF-322",
    title="GKE cluster without Binary Authorization",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation='Add binary_authorization { evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE" } and a policy.',
    equivalents={"checkov": ("CKV_GCP_66",)},
)
def gke_binary_authorization(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without Binary Authorization the cluster runs any image anyone with deploy rights names,
    including one never built by your pipeline or scanned."""
    block = first(r, "binary_authorization")
    mode = (block or {}).get("evaluation_mode")
    legacy = r.get("enable_binary_authorization")
    enforcing = mode is not None and (not known(mode) or mode not in _OFF)
    if is_true(legacy) or is_true((block or {}).get("enabled")) or enforcing:
        return
    if block is None and may_have(r, "binary_authorization"):
        return
    if legacy is not None and not known(legacy):
        return
    yield Hit(f"{r.address} does not enforce Binary Authorization", line=r.line_of("binary_authorization"),
              location="binary_authorization",
              fix='binary_authorization {\n  evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"\n}')
