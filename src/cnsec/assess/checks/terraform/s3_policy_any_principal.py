from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, policy_document, statements
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Condition keys that pin a statement to specific callers, so Principal "*" is not "anyone".
_PINNING_KEYS = ("aws:sourcevpce", "aws:sourcevpc", "aws:principalorgid", "aws:principalaccount",
                 "aws:sourcearn", "aws:sourceaccount", "aws:principalarn", "aws:userid", "aws:sourceip")


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    return False


def _pinned(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    keys = [str(k).lower() for op in condition.values() if isinstance(op, dict) for k in op]
    return any(k in _PINNING_KEYS for k in keys)


@check(
    id="CNSEC-TF-026",
    title="S3 bucket policy allows any principal",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_s3_bucket_policy", "aws_s3_bucket"),
    threats=("data-breach", "data-tampering"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Name the accounts/roles in Principal, or keep Principal \"*\" only with a Condition that pins "
                 "the caller (aws:SourceVpce, aws:PrincipalOrgID, aws:SourceArn…)."),
    equivalents={"checkov": ("CKV_AWS_70",)},
)
def s3_policy_any_principal(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An Allow with Principal "*" and no pinning condition grants the action to every AWS account and
    anonymous caller on the internet.

    Statements pinned to a VPC endpoint, an organisation, a source ARN/account or IP range pass
    (Checkov's CKV_AWS_70 also accepts some of these). Policies built with
    ``aws_iam_policy_document`` are not resolved here.
    """
    doc = policy_document(r.get("policy"))
    for n, st in enumerate(statements(doc)):
        if str(st.get("Effect", "Allow")) != "Allow" or not _anyone(st.get("Principal")):
            continue
        if _pinned(st.get("Condition")):
            continue
        actions = ", ".join(str(a) for a in as_list(st.get("Action"))[:3])
        yield Hit(f"{r.address} statement {n} allows {actions or 'actions'} to any principal",
                  line=r.line_of("policy"), location=f"statement[{n}]",
                  fix='"Principal": {"AWS": "arn:aws:iam::<account-id>:root"}')
