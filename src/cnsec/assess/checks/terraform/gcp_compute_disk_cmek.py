from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_KEYS = ("kms_key_self_link", "disk_encryption_key_raw", "disk_encryption_key_rsa", "kms_key_name", "raw_key",
         "rsa_encrypted_key")


def _keyed(block: dict[str, object] | None) -> bool:
    return isinstance(block, dict) and any(block.get(k) is not None for k in _KEYS)


@check(
    id="CNSEC-TF-306",
    title="Compute disk not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_compute_instance", "google_compute_disk", "google_compute_region_disk"),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Set boot_disk.kms_key_self_link (instances) or disk_encryption_key { kms_key_self_link } "
                 "(disks) to a Cloud KMS key you control."),
    equivalents={"checkov": ("CKV_GCP_38", "CKV_GCP_37")},
)
def gcp_compute_disk_cmek(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Google encrypts every disk, but with its own keys: a customer-managed key adds a separate
    permission (and an audit trail) to read the data, and lets you revoke it by disabling the key.
    A hardening for disks that hold sensitive data, hence low severity."""
    if r.type == "google_compute_instance":
        boot = first(r, "boot_disk")
        if _keyed(boot):
            return
        yield Hit(f"{r.address} boot disk has no customer-managed key", line=r.line_of("boot_disk"),
                  location="boot_disk.kms_key_self_link",
                  fix="boot_disk {\n  kms_key_self_link = google_kms_crypto_key.disk.id\n}")
        return
    if _keyed(sub(r.attrs, "disk_encryption_key")):
        return
    yield Hit(f"{r.address} has no customer-managed key", line=r.line_of("disk_encryption_key"),
              location="disk_encryption_key",
              fix="disk_encryption_key {\n  kms_key_self_link = google_kms_crypto_key.disk.id\n}")
