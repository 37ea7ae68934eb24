from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws_iam import (
    POLICY_DOCUMENT,
    POLICY_RESOURCES,
    RETURN_CREDENTIALS,
    allowed_freely,
    policy_statements,
)
from cnsec.assess.checks.terraform.aws_iam_unrestricted_resource import shown
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-129",
    title="IAM policy allows actions that return credentials, unconstrained",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("credential-abuse", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Scope credential-returning actions (sts:AssumeRole, iam:CreateAccessKey, "
                 "ecr:GetAuthorizationToken, ...) to the exact roles/users, or add a Condition."),
    equivalents={"checkov": ("CKV_AWS_107", "CKV_AWS_287")},
)
def aws_iam_credentials_exposure(r: TfResource, ctx: object) -> Iterator[Hit]:
    """These actions answer with credentials: assuming any role, minting access keys for any user or
    registry tokens turn one compromised principal into many."""
    actions = allowed_freely(policy_statements(r), RETURN_CREDENTIALS)
    if not actions:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows {shown(actions)}, which return credentials, on any resource",
              line=r.line_of(attr), location=f"{attr}.Action",
              fix='resources = ["arn:aws:iam::<account>:role/<the-role-to-assume>"]  # instead of "*"')
