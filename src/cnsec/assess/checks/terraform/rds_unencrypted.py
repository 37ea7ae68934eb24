from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-006",
    title="RDS database storage not encrypted",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster", "aws_neptune_cluster", "aws_docdb_cluster"),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set storage_encrypted = true (with kms_key_id of a customer-managed key); it cannot be "
                "changed in place, so restore an encrypted snapshot into a new instance.",
    equivalents={"checkov": ("CKV_AWS_16", "CKV_AWS_96")},
)
def rds_unencrypted(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Unencrypted database storage leaves the data, its snapshots and replicas readable to anyone who
    obtains a copy (shared snapshot, backup account, disk)

    The attribute defaults to false. Instances that belong to a cluster (``cluster_identifier``),
    read replicas (``replicate_source_db``, encryption is inherited) and Aurora Serverless v1
    (always encrypted) pass.
    """
    if r.type == "aws_db_instance" and (r.get("cluster_identifier") or r.get("replicate_source_db")):
        return
    if r.get("engine_mode") == "serverless":
        return
    value = truth(r.get("storage_encrypted"))
    if value is True or (value is None and r.get("storage_encrypted") is not None):
        return
    why = "sets storage_encrypted = false" if value is False else "does not set storage_encrypted"
    yield Hit(f"{r.address} {why}", line=r.line_of("storage_encrypted"), location="storage_encrypted",
              fix="storage_encrypted = true\nkms_key_id        = aws_kms_key.rds.arn")
