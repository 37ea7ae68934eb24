"""S3 bucket policy that lets in another account or everyone.

A Python rule because the bucket policy is a JSON document whose principals must be compared with the
record's own account id (see ``_aws_policy``). CNSEC-DET-AWS-009 reports every policy change; this one
only those that open the bucket, so removing such a policy (DeleteBucketPolicy) does not raise it.
"""

from __future__ import annotations

from typing import Any

from cnsec.detect.rules.content._aws_policy import example, sets_open_policy
from cnsec.detect.rules.pyrules import PythonRule


def _opened(event: dict[str, Any]) -> bool:
    return event.get("eventName") == "PutBucketPolicy" and sets_open_policy(event, "bucketPolicy")


def _put(policy: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    params = {"bucketName": "data", "bucketPolicy": policy, "policy": ""}
    return example("s3.amazonaws.com", "PutBucketPolicy", params, error)


def _statement(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::data/*"}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


RULE = PythonRule(
    id="CNSEC-DET-AWS-026",
    title="S3 bucket policy opened to another account or to everyone",
    severity="high",
    source="cloudtrail",
    threat="data-breach",
    attack=("T1537", "T1530"),
    description=(
        "A bucket policy now allows a principal of another AWS account, or everyone without a condition: "
        "the bucket's data can be read (or written) from outside. Policies naming only the account's own "
        "principals and AWS services do not alert."
    ),
    key=("principal=userIdentity.arn", "ip=sourceIPAddress"),
    index={"eventName": ["PutBucketPolicy"]},
    match=_opened,
    examples={
        "match": [_put(_statement({"AWS": "arn:aws:iam::999988887777:root"})), _put(_statement("*"))],
        "no_match": [_put(_statement({"AWS": "arn:aws:iam::111122223333:role/app"})),
                     _put(_statement({"Service": "cloudtrail.amazonaws.com"})),
                     _put(_statement("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
                     _put(_statement("*"), error="AccessDenied")],
    },
)
