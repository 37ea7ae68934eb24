"""Lambda function permission granted to another account or to everyone.

A Python rule because the principal, an account id, ARN or ``*``, must be compared with the record's own
account id (see ``_aws_policy``). Permissions for AWS services (S3, API Gateway…) and for the account's
own principals do not alert; removing a permission (RemovePermission) does not either.
"""

from __future__ import annotations

from typing import Any

from cnsec.detect.rules.content._aws_policy import example, outsider, own_account
from cnsec.detect.rules.pyrules import PythonRule

_NAMES = ["AddPermission20150331", "AddPermission20150331v2", "AddPermission"]


def _opened(event: dict[str, Any]) -> bool:
    if event.get("eventName") not in _NAMES or event.get("errorCode"):
        return False
    params = event.get("requestParameters") or {}
    principal = str(params.get("principal") or "")
    if principal == "*" and (params.get("sourceArn") or params.get("sourceAccount") or params.get("principalOrgID")):
        return False  # everyone, narrowed to one source or organisation
    return outsider(principal, own_account(event))


def _event(principal: str, **extra: str) -> dict[str, Any]:
    return example("lambda.amazonaws.com", "AddPermission20150331v2", {
        "functionName": "api", "statementId": "s1", "action": "lambda:InvokeFunction", "principal": principal, **extra})


RULE = PythonRule(
    id="CNSEC-DET-AWS-035",
    title="Lambda function opened to another account or to everyone",
    severity="medium",
    source="cloudtrail",
    threat="backdoor-persistence",
    attack=("T1098", "T1648"),
    description=(
        "A resource-based permission on a function for a principal of another account, or for everyone "
        "with no source or organisation condition: the function (and its role) can be invoked from outside."
    ),
    key=("principal=userIdentity.arn", "ip=sourceIPAddress"),
    index={"eventName": _NAMES},
    match=_opened,
    examples={
        "match": [_event("*"), _event("999988887777")],
        "no_match": [_event("s3.amazonaws.com", sourceArn="arn:aws:s3:::data"), _event("111122223333"),
                     _event("*", sourceArn="arn:aws:execute-api:us-east-1:111122223333:abc/*")],
    },
)
