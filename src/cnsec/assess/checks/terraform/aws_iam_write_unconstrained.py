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
    id="CNSEC-TF-126",
    title="IAM policy allows write actions without resource constraints",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("data-tampering", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="Scope the write actions to the ARNs they change, or add a Condition (tags, VPC, source).",
    equivalents={"checkov": ("CKV_AWS_111", "CKV_AWS_290")},
)
def aws_iam_write_unconstrained(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Write actions on "*" let whoever holds the role change or delete every resource of that kind
    in the account: other teams' volumes, load balancers and DNS records included."""
    actions = without_constraints(policy_statements(r), "W")
    if not actions:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows write actions {shown(actions)} on every resource", line=r.line_of(attr),
              location=f"{attr}.Resource",
              fix='condition {\n  test     = "StringEquals"\n  variable = "aws:ResourceTag/owner"\n'
                  '  values   = ["my-team"]\n}  # or resources = [<the ARNs written>]')
