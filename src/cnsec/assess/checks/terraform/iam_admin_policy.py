from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, policy_document, statements
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

POLICY_TYPES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy",
                "aws_iam_policy_document")


def policy_statements(r: TfResource) -> list[dict[str, Any]]:
    """Statements as ``{"Effect", "Action", "NotAction", "Resource", "Principal"}`` from either the JSON
    ``policy`` attribute or a ``data "aws_iam_policy_document"`` with ``statement`` blocks (a statement
    that names principals belongs to a resource policy: a bucket's, a key's)."""
    if r.type == "aws_iam_policy_document":
        out = []
        for b in r.blocks("statement"):
            out.append({"Effect": b.get("effect", "Allow"), "Action": b.get("actions"),
                        "NotAction": b.get("not_actions"), "Resource": b.get("resources"),
                        "Principal": b.get("principals") or None})
        return out
    return statements(policy_document(r.get("policy")))


def allows(st: dict[str, Any]) -> bool:
    return str(st.get("Effect", "Allow")).strip() == "Allow"


def is_admin(st: dict[str, Any]) -> bool:
    actions = [str(a).strip() for a in as_list(st.get("Action"))]
    resources = [str(x).strip() for x in as_list(st.get("Resource"))]
    return allows(st) and any(a in ("*", "*:*") for a in actions) and "*" in resources


@check(
    id="CNSEC-TF-010",
    title="IAM policy grants full administrator access (*:* on *)",
    severity=Severity.CRITICAL,
    target="terraform",
    resource_types=POLICY_TYPES,
    threats=("cluster-takeover", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="List the exact actions and resource ARNs the principal needs; never Allow \"*\" on \"*\".",
    equivalents={"checkov": ("CKV_AWS_62", "CKV_AWS_1")},
)
def iam_admin_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Action "*" on Resource "*" is the whole AWS account: whoever holds it can create users, read
    every secret and delete every backup. Policies written as JSON strings, heredocs,
    ``jsonencode(...)`` and ``aws_iam_policy_document`` data sources are all read."""
    for n, st in enumerate(policy_statements(r)):
        if is_admin(st):
            attr = "statement" if r.type == "aws_iam_policy_document" else "policy"
            yield Hit(f"{r.address} statement {n} allows every action on every resource",
                      line=r.line_of(attr), location=f"statement[{n}]",
                      fix='"Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::my-bucket/*"]')
