from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-115",
    title="RDS cluster not encrypted with a customer-managed KMS key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_rds_cluster",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set storage_encrypted = true and kms_key_id to a customer-managed KMS key.",
    equivalents={"checkov": ("CKV_AWS_327",)},
)
def aws_rds_cluster_cmk(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Under the AWS-managed key every principal allowed to use RDS can read the cluster's snapshots;
    a customer-managed key adds a key policy of its own, audit of each use and the means to revoke."""
    yield from require_set(r, ("kms_key_id",), "is not encrypted with a customer-managed KMS key",
                           "storage_encrypted = true\nkms_key_id        = aws_kms_key.rds.arn")
