"""ConfigMap created or changed with credentials in it.

Falco's equivalent: "Create/Modify Configmap With Private Credentials".

A Python rule because the credential may sit in any key of ``data``: the match looks through every
value, which a field-by-field YAML rule cannot say.
"""

from __future__ import annotations

from typing import Any

from cnsec.detect.rules.pyrules import PythonRule

MARKERS = ("aws_access_key_id", "aws-access-key-id", "aws_s3_access_key_id", "aws-s3-access-key-id",
           "password", "passphrase")


def _has_credentials(event: dict[str, Any]) -> bool:
    if event.get("verb") not in ("create", "update", "patch"):
        return False
    if (event.get("objectRef") or {}).get("resource") != "configmaps":
        return False
    obj = event.get("requestObject") or {}
    data = obj.get("data") or {}
    text = " ".join(f"{k}={v}" for k, v in data.items()).lower() if isinstance(data, dict) else ""
    return any(m in text for m in MARKERS)


def _cm(data: dict[str, str], verb: str = "create") -> dict[str, Any]:
    return {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "verb": verb,
            "user": {"username": "alice"},
            "objectRef": {"resource": "configmaps", "namespace": "shop", "name": "cfg"},
            "responseStatus": {"code": 201}, "stageTimestamp": "2026-01-05T10:00:00Z",
            "requestObject": {"kind": "ConfigMap", "data": data}}


RULE = PythonRule(
    id="CNSEC-DET-K8S-007",
    title="ConfigMap with credentials created or modified",
    severity="medium",
    source="k8s-audit",
    threat="secret-access",
    attack=("T1552.007", "MS-TA9027"),
    description=(
        "Passwords or cloud keys in a ConfigMap are readable by any ConfigMap reader."
    ),
    key=("user=user.username", "ip=sourceIPs"),
    index={"objectRef.resource": ["configmaps"]},
    match=_has_credentials,
    equivalents={"falco": ["Create/Modify Configmap With Private Credentials"]},
    examples={
        "match": [_cm({"access.properties": "aws_access_key_id = MY-ID\n"}),
                  _cm({"db_password": "x"}, "patch")],
        "no_match": [_cm({"ui.properties": "color.good=purple\n"}), _cm({"db_password": "x"}, "get")],
    },
)
