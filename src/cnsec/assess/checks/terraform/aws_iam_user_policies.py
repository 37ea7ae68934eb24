from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting, unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-137",
    title="IAM policy attached directly to a user",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_iam_user_policy", "aws_iam_user_policy_attachment", "aws_iam_policy_attachment"),
    threats=("privilege-escalation",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="Attach policies to groups or roles and put the user in the group (or use SSO roles).",
    equivalents={"checkov": ("CKV_AWS_40",)},
)
def aws_iam_user_policies(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Permissions granted user by user drift apart and outlive the job they were for; nobody can
    review who can do what when every person has a private policy."""
    attr = "users" if r.type == "aws_iam_policy_attachment" else "user"
    users = setting(r, attr)
    if r.type == "aws_iam_policy_attachment" and (users is UNKNOWN or unset(r, attr)):
        return
    yield Hit(f"{r.address} grants a policy directly to a user", line=r.line_of(attr), location=attr,
              fix='resource "aws_iam_group_policy_attachment" "x" {\n  group      = aws_iam_group.team.name\n'
                  "  policy_arn = aws_iam_policy.x.arn\n}")
