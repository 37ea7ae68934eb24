"""IAM role whose trust policy lets another account (or everyone) assume it.

A Python rule because the trust policy is a JSON string in the record whose principals must be compared
with the record's own account id (see ``_aws_policy``). CNSEC-DET-AWS-003 reports every trust policy
update; this one only those that open the role outside the account, so putting the original trust
policy back does not raise it.
"""

from __future__ import annotations

import json
from typing import Any

from cnsec.detect.rules.content._aws_policy import example, sets_open_policy
from cnsec.detect.rules.pyrules import PythonRule

_FIELD = {"UpdateAssumeRolePolicy": "policyDocument", "CreateRole": "assumeRolePolicyDocument"}


def _trusts_outsider(event: dict[str, Any]) -> bool:
    field = _FIELD.get(str(event.get("eventName")))
    return field is not None and event.get("eventSource") == "iam.amazonaws.com" and sets_open_policy(event, field)


def _event(name: str, principal: Any) -> dict[str, Any]:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}, indent=2)
    return example("iam.amazonaws.com", name, {"roleName": "app", _FIELD[name]: policy})


RULE = PythonRule(
    id="CNSEC-DET-AWS-034",
    title="IAM role trust policy lets another account or everyone assume it",
    severity="high",
    source="cloudtrail",
    threat="backdoor-persistence",
    attack=("T1098", "T1098.003"),
    description=(
        "A role created or updated so that a principal of another AWS account (or anyone, without a "
        "condition) may assume it: a way back in that survives the removal of every user and key. Roles "
        "trusting only the account itself and AWS services do not alert; cross-account roles meant to be "
        "so (a vendor's, an organisation's tooling account) do, once, when they are set up."
    ),
    key=("principal=userIdentity.arn", "ip=sourceIPAddress"),
    index={"eventName": list(_FIELD)},
    match=_trusts_outsider,
    examples={
        "match": [_event("UpdateAssumeRolePolicy", {"AWS": "arn:aws:iam::999988887777:root"}),
                  _event("CreateRole", {"AWS": ["arn:aws:iam::111122223333:root", "999988887777"]})],
        "no_match": [_event("UpdateAssumeRolePolicy", {"Service": "ec2.amazonaws.com"}),
                     _event("CreateRole", {"AWS": "arn:aws:iam::111122223333:root"})],
    },
)
