from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list
from cnsec.assess.checks.terraform.iam_admin_policy import POLICY_TYPES, allows, is_admin, policy_statements
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-011",
    title="IAM policy allows wildcard actions",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=POLICY_TYPES,
    threats=("privilege-escalation",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Replace \"service:*\" and \"*\" actions with the specific actions needed "
                 "(e.g. s3:GetObject, s3:PutObject) and scope Resource to the ARNs used."),
    equivalents={"checkov": ("CKV_AWS_63", "CKV_AWS_49")},
)
def iam_wildcard_actions(r: TfResource, ctx: object) -> Iterator[Hit]:
    """``s3:*`` or ``ec2:*`` on every resource include the destructive and privilege-changing actions
    of the service (DeleteBucket, PutBucketPolicy, RunInstances with any role…).

    Wider than Checkov's CKV_AWS_63, which only fails a bare "*" action: we also fail service-wide
    wildcards ("s3:*") on Resource "*", and NotAction allows. Full-admin statements are reported by
    CNSEC-TF-010 instead. A KMS key policy's ``kms:*`` for named principals is not one: in a key policy
    Resource "*" means the key itself (it is AWS's default key policy).
    """
    for n, st in enumerate(policy_statements(r)):
        if not allows(st) or is_admin(st):
            continue
        actions = [str(a).strip() for a in as_list(st.get("Action"))]
        resources = [str(x).strip() for x in as_list(st.get("Resource"))]
        star = [a for a in actions if a == "*" or (a.endswith(":*") and "*" in resources)]
        if star and st.get("Principal") and all(a.lower().startswith("kms:") for a in star):
            continue  # a key policy: its Resource "*" is the key itself (AWS's own default key policy)
        attr = "statement" if r.type == "aws_iam_policy_document" else "policy"
        if star:
            yield Hit(f"{r.address} statement {n} allows wildcard actions {', '.join(star[:5])}"
                      + (" on every resource" if "*" in resources else ""),
                      line=r.line_of(attr), location=f"statement[{n}]",
                      fix='"Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::my-bucket/*"]')
        elif as_list(st.get("NotAction")) and "*" in resources:
            yield Hit(f"{r.address} statement {n} allows everything except {as_list(st.get('NotAction'))[:3]}",
                      line=r.line_of(attr), location=f"statement[{n}]",
                      fix='replace NotAction with an explicit "Action" list')
