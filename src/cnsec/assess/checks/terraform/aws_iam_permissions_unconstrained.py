from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws_iam import (
    POLICY_DOCUMENT,
    POLICY_RESOURCES,
    policy_statements,
    without_constraints,
)
from cnsec.assess.checks.terraform.aws_iam_unrestricted_resource import shown
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-127",
    title="IAM policy allows permissions management without resource constraints",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("privilege-escalation", "cluster-takeover"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Scope permissions-management actions (policies, grants, resource policies) to the exact "
                 "ARNs, or add a Condition; never grant them on \"*\"."),
    equivalents={"checkov": ("CKV_AWS_109", "CKV_AWS_289")},
)
def aws_iam_permissions_unconstrained(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Permissions-management actions (attach a policy, put a bucket or key policy, create a grant)
    on "*" let the holder give itself or anyone else access to everything: a path to account
    takeover and to exposing data publicly."""
    actions = without_constraints(policy_statements(r), "P")
    if not actions:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows permissions management {shown(actions)} on every resource",
              line=r.line_of(attr), location=f"{attr}.Resource",
              fix='resources = ["arn:aws:iam::<account>:role/<the-role-it-manages>"]  # instead of "*"')
