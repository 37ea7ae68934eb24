"""Who an AWS resource or trust policy lets in: the principals outside the account that wrote it.

Shared by the Python rules that tell a policy opened to another account or to everyone (a backdoor
or an exfiltration path) from one that only names the account's own principals and AWS services, a
difference no field-by-field YAML rule can see: the policy is a JSON document, in CloudTrail often a
string, and "outside" means "another account id than the record's own".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_ACCOUNT = re.compile(r"^(?:arn:aws[\w-]*:(?:iam|sts)::)?(\d{12})(?::|$)")


def own_account(event: dict[str, Any]) -> str:
    """The account the record belongs to (the one whose resource the policy guards)."""
    ident = event.get("userIdentity") or {}
    return str(event.get("recipientAccountId") or ident.get("accountId") or "")


def document(value: Any) -> dict[str, Any]:
    """A policy document from a record field: a JSON object, or a JSON string (CloudTrail's IAM shape)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth: no principals
            return {}
    return value if isinstance(value, dict) else {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def aws_principals(principal: Any) -> Iterator[str]:
    """The AWS principals of a statement's ``Principal`` (``"*"`` stands for everyone); services skipped."""
    if principal == "*":
        yield "*"
    elif isinstance(principal, dict):
        for p in _listed(principal.get("AWS", [])):
            yield str(p)


def outsider(principal: str, account: str) -> bool:
    """Everyone, or an account id / ARN of another account than ``account``."""
    if principal == "*":
        return True
    m = _ACCOUNT.match(principal.strip())
    return m is not None and m.group(1) != account


def opened_outside(policy: dict[str, Any], account: str) -> bool:
    """True when an Allow statement lets in everyone (without a condition) or another account."""
    for st in _listed(policy.get("Statement", [])):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        for p in aws_principals(st.get("Principal")):
            if p == "*" and st.get("Condition"):
                continue  # "*" narrowed by a condition (source VPC, organisation, IP): not public as such
            if outsider(p, account):
                return True
    return False


def sets_open_policy(event: dict[str, Any], field: str) -> bool:
    """Did this (successful) call set a policy, held in request parameter ``field``, that lets in an
    outsider? The rules check the event name first; this is the common rest of their match."""
    if event.get("errorCode"):
        return False
    params = event.get("requestParameters") or {}
    return opened_outside(document(params.get(field)), own_account(event))


def example(source: str, name: str, params: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    """A CloudTrail record of account 111122223333's user alice, for the rules' own examples."""
    e: dict[str, Any] = {
        "eventVersion": "1.08", "eventTime": "2026-01-05T10:00:00Z", "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15.0",
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "userName": "alice",
                         "principalId": "AIDAEXAMPLE", "accountId": "111122223333"},
        "requestParameters": params, "responseElements": None}
    if error:
        e["errorCode"] = error
    return e
