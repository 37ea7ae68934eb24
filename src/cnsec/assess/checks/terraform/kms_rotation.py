from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-012",
    title="KMS key rotation disabled",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_kms_key",),
    threats=("weak-cryptography",),
    control="CTRL-KEY-ROTATION",
    remediation="Set enable_key_rotation = true (optionally rotation_period_in_days).",
    equivalents={"checkov": ("CKV_AWS_7",)},
)
def kms_rotation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A key that never rotates protects ever more data with the same material, so one exposure of it
    (or a future weakness) reaches everything it ever encrypted.

    Asymmetric and HMAC keys cannot rotate automatically and pass (Checkov fails them).
    """
    spec = r.get("customer_master_key_spec") or r.get("key_spec")
    if isinstance(spec, str) and spec != "SYMMETRIC_DEFAULT" and "${" not in spec:
        return
    value = truth(r.get("enable_key_rotation"))
    if value is True or (value is None and r.get("enable_key_rotation") is not None):
        return
    why = "sets enable_key_rotation = false" if value is False else "does not enable key rotation"
    yield Hit(f"{r.address} {why}", line=r.line_of("enable_key_rotation"), location="enable_key_rotation",
              fix="enable_key_rotation = true")
