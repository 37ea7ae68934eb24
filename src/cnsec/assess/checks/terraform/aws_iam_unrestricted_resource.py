from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws_iam import POLICY_DOCUMENT, POLICY_RESOURCES, policy_statements, unrestricted
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


def shown(actions: list[str]) -> str:
    return ", ".join(actions[:4]) + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")


@check(
    id="CNSEC-TF-125",
    title="IAM policy grants resource-scoped actions on every resource",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("privilege-escalation", "data-breach"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=('Replace Resource "*" with the ARNs the actions are meant for (or add a Condition): every '
                 "action listed accepts resource ARNs."),
    equivalents={"checkov": ("CKV_AWS_355", "CKV_AWS_356")},
)
def aws_iam_unrestricted_resource(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An action AWS lets you scope to ARNs but granted on "*" reaches every bucket, key, queue or
    role of that kind in the account, today's and tomorrow's: the role's compromise is the whole
    service's. Actions that cannot be scoped (``ec2:Describe*``) are not reported."""
    actions = unrestricted(policy_statements(r))
    if not actions:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows {shown(actions)} on every resource", line=r.line_of(attr),
              location=f"{attr}.Resource",
              fix='resources = ["arn:aws:<service>:<region>:<account>:<resource>/<name>"]  # instead of "*"')
