from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked, unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-134",
    title="KMS key without a key policy of its own",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_kms_key",),
    threats=("data-breach", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Write the key policy (policy = data.aws_iam_policy_document.key.json or an "
                 "aws_kms_key_policy): name the administrators and the principals that may use the key."),
    equivalents={"checkov": ("CKV2_AWS_64",)},
)
def aws_kms_key_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a policy AWS applies its default, which lets every IAM principal of the account that
    has kms:* in an identity policy use and administer the key: who can decrypt is then decided by
    IAM policies all over the account, not by the key."""
    if not unset(r, "policy") or linked(ctx, r, ("aws_kms_key_policy",), "key_id"):
        return
    yield Hit(f"{r.address} has no key policy", line=r.line, location="policy",
              fix="policy = data.aws_iam_policy_document.key.json")
