from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import others, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-008",
    title="EBS volume not encrypted",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_ebs_volume",),
    threats=("data-breach", "weak-cryptography"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set encrypted = true (and kms_key_id), or enable aws_ebs_encryption_by_default for the account.",
    equivalents={"checkov": ("CKV_AWS_3",)},
)
def ebs_unencrypted(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Unencrypted volumes and their snapshots can be copied and read by anyone who gets hold of them
    (public or shared snapshots are a common leak).

    Account-wide ``aws_ebs_encryption_by_default { enabled = true }`` in the same configuration, or a
    volume restored from a snapshot (which inherits the snapshot's encryption), passes.
    """
    value = truth(r.get("encrypted"))
    if value is True or r.get("snapshot_id"):
        return
    if value is None and r.get("encrypted") is not None:
        return  # an expression: unknown
    for d in others(ctx, "aws_ebs_encryption_by_default"):
        if truth(d.get("enabled")) is not False:
            return
    why = "sets encrypted = false" if value is False else "does not set encrypted = true"
    yield Hit(f"{r.address} {why}", line=r.line_of("encrypted"), location="encrypted",
              fix="encrypted  = true\nkms_key_id = aws_kms_key.ebs.arn")
