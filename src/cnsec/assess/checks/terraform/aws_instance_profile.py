from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-154",
    title="EC2 instance without an IAM role",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_instance",),
    threats=("credential-abuse",),
    control="CTRL-SECRETS-MANAGEMENT",
    remediation="Set iam_instance_profile to a profile whose role grants what the software needs.",
    equivalents={"checkov": ("CKV2_AWS_41",)},
)
def aws_instance_profile(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Software on an instance without a role that calls AWS does so with long-lived access keys in
    files or user data; a role gives it short-lived credentials that rotate by themselves."""
    yield from require_set(r, ("iam_instance_profile",), "has no IAM instance profile",
                           "iam_instance_profile = aws_iam_instance_profile.app.name")
