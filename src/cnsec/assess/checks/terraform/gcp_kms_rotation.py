from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_NINETY_DAYS = 90 * 24 * 3600
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")


@check(
    id="CNSEC-TF-327",
    title="Cloud KMS key not rotated at least every 90 days",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_kms_crypto_key",),
    threats=("weak-cryptography",),
    control="CTRL-KEY-ROTATION",
    remediation='Set rotation_period = "7776000s" (90 days) or shorter on symmetric keys.',
    equivalents={"checkov": ("CKV_GCP_43",)},
)
def gcp_kms_rotation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A key that never rotates protects ever more data with the same material, so one exposure of it
    reaches everything it ever encrypted. Asymmetric and MAC keys cannot rotate automatically and pass."""
    purpose = r.get("purpose")
    if purpose is not None and purpose != "ENCRYPT_DECRYPT":
        return  # asymmetric, MAC or raw keys; or a purpose cnsec cannot read
    period = r.get("rotation_period")
    if period is not None and not known(period):
        return
    m = _SECONDS.match(period) if isinstance(period, str) else None
    if m and 86400 <= float(m.group(1)) <= _NINETY_DAYS:
        return
    said = f"rotates every {period}" if period else "never rotates (no rotation_period)"
    yield Hit(f"{r.address} {said}", line=r.line_of("rotation_period"), location="rotation_period",
              fix='rotation_period = "7776000s"  # 90 days')
