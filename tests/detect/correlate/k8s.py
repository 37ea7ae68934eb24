"""Kubernetes audit events for the correlation tests (the shape the API server writes)."""

from __future__ import annotations

import json
from typing import Any

from tests.detect.correlate.telemetry import rfc3339


def audit(ts: float, user: str, verb: str, resource: str, code: int = 200, name: str = "x",
          subresource: str | None = None, body: dict[str, Any] | None = None, ip: str = "10.0.0.9") -> str:
    ref: dict[str, Any] = {"resource": resource, "namespace": "default", "name": name, "apiVersion": "v1"}
    if subresource:
        ref["subresource"] = subresource
    ev: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": f"id-{ts}-{user}-{verb}-{name}", "stage": "ResponseComplete", "verb": verb,
        "requestURI": f"/api/v1/namespaces/default/{resource}/{name}", "user": {"username": user},
        "sourceIPs": [ip], "objectRef": ref, "responseStatus": {"code": code},
        "requestReceivedTimestamp": rfc3339(ts), "stageTimestamp": rfc3339(ts + 0.01)}
    if body is not None:
        ev["requestObject"] = body
    return json.dumps(ev)


def privileged_pod(ts: float, user: str) -> str:
    return audit(ts, user, "create", "pods", 201, name="debug", body={
        "kind": "Pod", "spec": {"containers": [{"name": "c", "image": "alpine",
                                                "securityContext": {"privileged": True}}]}})
