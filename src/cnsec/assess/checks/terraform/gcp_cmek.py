from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Resource type -> (where the key goes, its attribute, the fix).
_KEYS = {
    "google_bigquery_dataset": ("default_encryption_configuration", "kms_key_name",
                                "default_encryption_configuration {\n  kms_key_name = google_kms_crypto_key.bq.id\n}"),
    "google_bigquery_table": ("encryption_configuration", "kms_key_name",
                              "encryption_configuration {\n  kms_key_name = google_kms_crypto_key.bq.id\n}"),
    "google_pubsub_topic": (None, "kms_key_name", "kms_key_name = google_kms_crypto_key.pubsub.id"),
    "google_artifact_registry_repository": (None, "kms_key_name", "kms_key_name = google_kms_crypto_key.ar.id"),
}


@check(
    id="CNSEC-TF-328",
    title="BigQuery, Pub/Sub or Artifact Registry data not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=tuple(_KEYS),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set the resource's kms_key_name to a Cloud KMS key you control.",
    equivalents={"checkov": ("CKV_GCP_81", "CKV_GCP_80", "CKV_GCP_83", "CKV_GCP_84")},
)
def gcp_cmek(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Google encrypts this data with its own keys; a customer-managed key adds a separate permission
    (and audit trail) to read it and lets you cut access by disabling the key. A hardening for data
    that needs it, hence low severity."""
    block_name, attr, fix = _KEYS[r.type]
    holder = first(r, block_name) if block_name else r.attrs
    if block_name and holder is None and block_name in r.unknown_blocks:
        return
    if (holder or {}).get(attr) not in (None, ""):
        return
    yield Hit(f"{r.address} has no customer-managed key ({attr})", line=r.line_of(block_name or attr),
              location=f"{block_name}.{attr}" if block_name else attr, fix=fix)
