from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws_iam import (
    EXFILTRATION,
    POLICY_DOCUMENT,
    POLICY_RESOURCES,
    allowed_freely,
    policy_statements,
)
from cnsec.assess.checks.terraform.aws_iam_unrestricted_resource import shown
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-130",
    title="IAM policy allows reading any object or secret",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=(*POLICY_RESOURCES, POLICY_DOCUMENT),
    threats=("data-breach", "secret-access"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Scope s3:GetObject, ssm:GetParameter* and secretsmanager:GetSecretValue to the buckets, "
                 "parameter paths and secrets the workload reads."),
    equivalents={"checkov": ("CKV_AWS_108", "CKV_AWS_288")},
)
def aws_iam_data_exfiltration(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Unscoped s3:GetObject or secret reads are the classic bulk leak: one compromised role reads
    every bucket and every secret of the account."""
    actions = allowed_freely(policy_statements(r), EXFILTRATION)
    if not actions:
        return
    attr = "statement" if r.type == POLICY_DOCUMENT else "policy"
    yield Hit(f"{r.address} allows {shown(actions)} on every resource", line=r.line_of(attr),
              location=f"{attr}.Action", fix='resources = ["arn:aws:s3:::my-bucket/my-prefix/*"]  # instead of "*"')
