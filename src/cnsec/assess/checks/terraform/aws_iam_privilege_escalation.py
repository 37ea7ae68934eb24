from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws_iam import POLICY_DOCUMENT, POLICY_RESOURCES, escalations, policy_statements
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-131",
    title="IAM policy allows a known privilege-escalation path",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("privilege-escalation", "cluster-takeover"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Remove or scope the actions of the escalation path (iam:PassRole to named roles with "
                 "iam:PassedToService, policy and access-key actions to the principal itself)."),
    equivalents={"checkov": ("CKV_AWS_110", "CKV_AWS_286")},
)
def aws_iam_privilege_escalation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Rhino Security Labs' escalation methods: with these actions unconstrained a principal can
    attach itself an admin policy, mint keys for others or pass an admin role to code it runs."""
    found = escalations(policy_statements(r))
    if not found:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows privilege escalation by {', '.join(found[:3])}", line=r.line_of(attr),
              location=f"{attr}.Action",
              fix='resources = ["arn:aws:iam::<account>:role/<only-this-role>"]  # scope iam:PassRole and kin')
