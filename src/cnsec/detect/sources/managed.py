"""Kubernetes audit events as managed clusters export them, unwrapped to the events the rules read.

* **AKS** (Azure diagnostic settings, to a storage account or Event Hubs): ``{"records": [...]}`` or one
  record per line, each ``{"category": "kube-audit" | "kube-audit-admin", "properties": {"log": ...}}``
  where ``log`` is the audit event as a JSON string (storage) or an object (some forwarders).
* **EKS** (control-plane logs in CloudWatch Logs): a CloudWatch Logs subscription batch
  ``{"messageType": "DATA_MESSAGE", "logEvents": [{"message": "<event json>"}, ...]}`` (Kinesis,
  Firehose; gzipped as delivered, and written back to back without a newline when Firehose puts them
  in S3), ``aws logs filter-log-events`` output ``{"events": [...]}``, or one
  ``{"message": "<event json>", ...}`` per line.
* **GKE** (Cloud Logging): a ``LogEntry`` whose ``protoPayload`` is an AuditLog of the ``k8s.io``
  service. It is mapped to the ``audit.k8s.io`` Event the Kubernetes rules read (verb, objectRef, user,
  sourceIPs, requestObject, responseStatus, annotations): GCP's own audit rules read other services'
  entries, and none of them knows Kubernetes objects.

Unwrapping is by content, and only when what is inside is recognisably an event (a message that is
not JSON, or JSON of something else, leaves the envelope as it is), so a generic JSON log with a
``message`` field is not taken apart.
"""

from __future__ import annotations

from typing import Any

#: top-level keys of the envelopes above; an input whose first object has none is read as raw events
ENVELOPE_KEYS = ("records", "logEvents", "events", "message", "properties", "protoPayload")

#: google.rpc.Code of a GKE AuditLog status -> the HTTP status the API server answered with
_GRPC_TO_HTTP = {0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409,
                 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401}


#: where one CloudWatch Logs batch ends and the next begins in a Firehose delivery to S3 (the batches are
#: written back to back, with no newline between them)
_BATCH_SEAM = b'}{"messageType"'


def concatenated_batches(raw: bytes) -> list[Any] | None:
    """The CloudWatch Logs batches of a line that holds several back to back, or None (not such a line,
    or one of its parts is not JSON). Only asked of lines that failed to parse."""
    if _BATCH_SEAM not in raw:
        return None
    import orjson

    try:
        return [orjson.loads(part) for part in raw.strip().replace(_BATCH_SEAM, b'}\n{"messageType"').split(b"\n")]
    except orjson.JSONDecodeError:
        return None


def is_envelope(d: dict[str, Any]) -> bool:
    """Could ``d`` be one of the envelopes above (a cheap look at its keys)?"""
    return any(k in d for k in ENVELOPE_KEYS)


def unwrap_managed(d: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The audit events in ``d``, or None when ``d`` is not such an envelope."""
    records = d.get("records")
    if isinstance(records, list):
        return [e for r in records if isinstance(r, dict) for e in (_aks_record(r) or [r])]
    for key in ("logEvents", "events"):
        batch = d.get(key)
        if isinstance(batch, list) and batch and all(isinstance(e, dict) and "message" in e for e in batch):
            return [ev for e in batch for ev in (_message(e) or [e])]
    if "properties" in d:
        return _aks_record(d)
    if "message" in d:
        return _message(d)
    payload = d.get("protoPayload")
    if isinstance(payload, dict) and payload.get("serviceName") == "k8s.io":
        return [gke_to_audit(d, payload)]
    return None


def _is_audit_event(d: Any) -> bool:
    from cnsec.detect.sources import sniff_source

    return isinstance(d, dict) and sniff_source(d) not in ("json", "falco")


def _parsed(value: Any) -> Any:
    """A JSON object held as a string (``"{...}"``) parsed, or the value itself."""
    if isinstance(value, str) and value.lstrip()[:1] == "{":
        import orjson

        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _aks_record(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    props = record.get("properties")
    if not isinstance(props, dict):
        return None
    event = _parsed(props.get("log"))
    return [event] if _is_audit_event(event) else None


def _message(entry: dict[str, Any]) -> list[dict[str, Any]] | None:
    event = _parsed(entry.get("message"))
    return [event] if _is_audit_event(event) else None


def gke_to_audit(entry: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """A GKE ``k8s.io`` AuditLog entry as the ``audit.k8s.io/v1`` Event it records.

    ``methodName`` is ``io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>`` and
    ``resourceName`` ``<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]`` (group
    ``core`` for the core API group); the caller is ``authenticationInfo.principalEmail`` and
    ``requestMetadata.callerIp``; the object sent is ``request`` (its ``@type`` dropped)."""
    method = str(payload.get("methodName") or "")
    verb = method.rsplit(".", 1)[-1] if method.startswith("io.k8s.") else method
    event: dict[str, Any] = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": verb,
                             "stage": "ResponseComplete"}
    operation = entry.get("operation")
    audit_id = (operation.get("id") if isinstance(operation, dict) else None) or entry.get("insertId")
    if audit_id:
        event["auditID"] = str(audit_id)
    ref = _object_ref(str(payload.get("resourceName") or ""))
    if ref:
        event["objectRef"] = ref
        event["requestURI"] = _request_uri(ref)
    auth = payload.get("authenticationInfo")
    if isinstance(auth, dict) and auth.get("principalEmail"):
        event["user"] = {"username": auth["principalEmail"]}
    meta = payload.get("requestMetadata")
    if isinstance(meta, dict):
        ip = meta.get("callerIp") or meta.get("callerIP")
        if ip:
            event["sourceIPs"] = [ip]
        if meta.get("callerSuppliedUserAgent"):
            event["userAgent"] = meta["callerSuppliedUserAgent"]
    for src, dst in (("request", "requestObject"), ("response", "responseObject")):
        obj = payload.get(src)
        if isinstance(obj, dict):
            event[dst] = {k: v for k, v in obj.items() if k != "@type"}
    status = payload.get("status")
    if isinstance(status, dict):
        code = status.get("code", 0)
        event["responseStatus"] = {"code": _GRPC_TO_HTTP.get(code, 500) if isinstance(code, int) else 500}
        if status.get("message"):
            event["responseStatus"]["message"] = status["message"]
    labels = entry.get("labels")
    if isinstance(labels, dict):  # authorization.k8s.io/decision and /reason are labels of the entry
        event["annotations"] = dict(labels)
    if entry.get("timestamp"):
        event["requestReceivedTimestamp"] = event["stageTimestamp"] = entry["timestamp"]
    return event


def _object_ref(resource_name: str) -> dict[str, str]:
    parts = [p for p in resource_name.split("/") if p]
    if len(parts) < 3:  # "readyz", "healthz": non-resource requests
        return {}
    group, version, rest = parts[0], parts[1], parts[2:]
    ref = {"apiGroup": "" if group == "core" else group, "apiVersion": version}
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        ref["namespace"] = rest[1]
        rest = rest[2:]
    ref["resource"] = rest[0]
    if len(rest) >= 2:
        ref["name"] = rest[1]
        if rest[0] == "namespaces":
            ref["namespace"] = rest[1]
    if len(rest) >= 3:
        ref["subresource"] = rest[2]
    return ref


def _request_uri(ref: dict[str, str]) -> str:
    base = f"/api/{ref['apiVersion']}" if not ref["apiGroup"] else f"/apis/{ref['apiGroup']}/{ref['apiVersion']}"
    ns = f"/namespaces/{ref['namespace']}" if "namespace" in ref and ref["resource"] != "namespaces" else ""
    tail = "".join(f"/{ref[k]}" for k in ("name", "subresource") if k in ref)
    return f"{base}{ns}/{ref['resource']}{tail}"
