"""Managed clusters' audit exports (AKS, EKS, GKE) alert as the raw audit events they wrap."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cnsec.cli import main

DATA = Path(__file__).parent / "data" / "managed"

T = "2026-01-05T10:00:00.000000Z"
BASE = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "stage": "ResponseComplete",
        "user": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.7"], "userAgent": "kubectl/v1.30.0",
        "requestReceivedTimestamp": T, "stageTimestamp": T}
PRIVILEGED = dict(BASE, auditID="a1", verb="create", requestURI="/api/v1/namespaces/default/pods",
                  objectRef={"resource": "pods", "namespace": "default", "name": "web", "apiVersion": "v1"},
                  requestObject={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web"}, "spec": {
                      "containers": [{"name": "web", "image": "nginx", "securityContext": {"privileged": True}}]}},
                  responseStatus={"code": 201})
EXEC = dict(BASE, auditID="a2", verb="create", requestURI="/api/v1/namespaces/default/pods/web/exec?command=sh",
            objectRef={"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web",
                       "apiVersion": "v1"}, responseStatus={"code": 101})
ADMIN = dict(BASE, auditID="a3", verb="create",
             requestURI="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
             objectRef={"resource": "clusterrolebindings", "name": "pwn", "apiGroup": "rbac.authorization.k8s.io",
                        "apiVersion": "v1"},
             requestObject={"kind": "ClusterRoleBinding", "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                      "kind": "ClusterRole", "name": "cluster-admin"},
                            "subjects": [{"kind": "User", "name": "mallory"}]},
             responseStatus={"code": 201})
ATTACKS = [PRIVILEGED, EXEC, ADMIN]
RESOURCE_ID = ("/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/"
               "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1")


def _aks_record(event: dict[str, Any], as_string: bool = True) -> dict[str, Any]:
    return {"time": T, "resourceId": RESOURCE_ID, "category": "kube-audit",
            "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
            "properties": {"log": json.dumps(event) if as_string else event, "stream": "stdout",
                           "pod": "kube-apiserver-5d8f6c7b9-abcde", "containerID": "0123abcd"}}


def _log_event(i: int, event: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"3713{i:052d}", "timestamp": 1767607200000 + i, "message": json.dumps(event)}


def _cloudwatch_batch(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/eks/prod/cluster",
            "logStream": "kube-apiserver-audit-0123456789abcdef0123456789abcdef",
            "subscriptionFilters": ["to-firehose"], "logEvents": [_log_event(i, e) for i, e in enumerate(events)]}


def _gke_entry(event: dict[str, Any]) -> dict[str, Any]:
    ref = event["objectRef"]
    group = ref.get("apiGroup") or "core"
    ns = f"namespaces/{ref['namespace']}/" if "namespace" in ref else ""
    name = "/".join(ref[k] for k in ("name", "subresource") if k in ref)
    short = group.split(".")[0]
    method = ".".join(["io.k8s", short, ref["apiVersion"], ref["resource"],
                       *([ref["subresource"]] if "subresource" in ref else []), event["verb"]])
    payload: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": event["user"]["username"]},
        "authorizationInfo": [{"granted": True, "permission": method, "resource": f"{group}/{ref['apiVersion']}/"
                                                                                  f"{ns}{ref['resource']}/{name}"}],
        "methodName": method, "resourceName": f"{group}/{ref['apiVersion']}/{ns}{ref['resource']}/{name}",
        "serviceName": "k8s.io", "status": {"code": 0},
        "requestMetadata": {"callerIp": event["sourceIPs"][0], "callerSuppliedUserAgent": event["userAgent"]}}
    if "requestObject" in event:
        payload["request"] = {"@type": f"{group}.k8s.io/{ref['apiVersion']}.{event['requestObject']['kind']}",
                              **event["requestObject"]}
    return {"protoPayload": payload, "insertId": event["auditID"],
            "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "gke1", "location": "europe-west1",
                                                           "project_id": "acme-prod"}},
            "timestamp": T, "severity": "NOTICE",
            "labels": {"authorization.k8s.io/decision": "allow"},
            "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "operation": {"id": event["auditID"], "producer": "k8s.io", "first": True, "last": True},
            "receiveTimestamp": T}


def _lines(docs: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in docs).encode()


ENVELOPES: dict[str, Any] = {
    "raw.jsonl": lambda evs: _lines(evs),
    "aks-storage.json": lambda evs: json.dumps({"records": [_aks_record(e) for e in evs]}).encode(),
    "aks-eventhub.jsonl": lambda evs: _lines([_aks_record(e, as_string=False) for e in evs]),
    "eks-subscription.json.gz": lambda evs: gzip.compress(json.dumps(_cloudwatch_batch(evs)).encode()),
    "eks-messages.jsonl": lambda evs: _lines([{"timestamp": 1767607200000, "message": json.dumps(e)} for e in evs]),
    "eks-filter-log-events.json": lambda evs: json.dumps(
        {"events": [dict(_log_event(i, e), logStreamName="kube-apiserver-audit-0123", ingestionTime=1767607201000,
                         eventId=str(i)) for i, e in enumerate(evs)], "searchedLogStreams": []}, indent=2).encode(),
    "gke.jsonl": lambda evs: _lines([_gke_entry(e) for e in evs]),
}


def _detect(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    main(["detect", str(path), "-f", "jsonl", "--fail-on", "none", "--min-severity", "low", *extra])
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def _summary(alerts: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return sorted((a["rule_id"], a["key"], a["count"]) for a in alerts)


@pytest.fixture
def raw_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, int]]:
    f = tmp_path / "raw.jsonl"
    f.write_bytes(ENVELOPES["raw.jsonl"](ATTACKS))
    found = _summary(_detect(f, capsys))
    # the three attacks: privileged pod, exec into a pod, a binding to cluster-admin
    assert {"CNSEC-DET-K8S-001", "CNSEC-DET-K8S-009", "CNSEC-DET-K8S-015"} <= {r for r, _k, _n in found}
    return found


@pytest.mark.parametrize("name", [n for n in ENVELOPES if n != "raw.jsonl"])
@pytest.mark.parametrize("source", [None, "k8s-audit"])
def test_the_attacks_alert_in_a_managed_envelope_as_they_do_raw(
        name: str, source: str | None, raw_alerts: list[tuple[str, str, int]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / name
    f.write_bytes(ENVELOPES[name](ATTACKS))
    alerts = _detect(f, capsys, *(["--source", source] if source else []))
    assert _summary(alerts) == raw_alerts
    for alert in alerts:  # the evidence points at the wrapped input and holds the audit event itself
        evidence = alert["evidence"][0]
        assert evidence["origin"].startswith(f"{f}:") and evidence["source"] == "k8s-audit"
        assert evidence["event"]["objectRef"]["resource"] in ("pods", "clusterrolebindings")


def test_each_event_of_an_aks_records_file_points_at_the_line_of_its_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "aks.json"
    f.write_bytes(ENVELOPES["aks-eventhub.jsonl"](ATTACKS))
    origins = {a["rule_id"]: a["evidence"][0]["origin"] for a in _detect(f, capsys)}
    assert origins["CNSEC-DET-K8S-001"] == f"{f}:1" and origins["CNSEC-DET-K8S-015"] == f"{f}:3"


def test_a_gke_k8s_entry_becomes_the_audit_event_it_records() -> None:
    from cnsec.detect.sources import expand

    [event] = expand(_gke_entry(EXEC))
    assert event["verb"] == "create" and event["user"] == {"username": "alice@example.com"}
    assert event["objectRef"] == {"apiGroup": "", "apiVersion": "v1", "namespace": "default", "resource": "pods",
                                  "name": "web", "subresource": "exec"}
    assert event["sourceIPs"] == ["203.0.113.7"] and event["responseStatus"] == {"code": 200}
    assert event["annotations"] == {"authorization.k8s.io/decision": "allow"}


def test_a_denied_gke_request_reads_as_a_403() -> None:
    from cnsec.detect.sources import expand

    entry = _gke_entry(ADMIN)
    entry["protoPayload"]["status"] = {"code": 7, "message": "forbidden"}
    [event] = expand(entry)
    assert event["responseStatus"] == {"code": 403, "message": "forbidden"}


def test_panthers_gke_test_events_alert_as_kubernetes_events(capsys: pytest.CaptureFixture[str]) -> None:
    f = DATA / "gke-panther.jsonl"
    alerts = _detect(f, capsys)
    assert sorted((a["rule_id"], a["evidence"][0]["origin"]) for a in alerts) == [
        ("CNSEC-DET-K8S-001", f"{f}:1"), ("CNSEC-DET-K8S-009", f"{f}:3"), ("CNSEC-DET-K8S-015", f"{f}:2")]


def test_other_services_in_a_gke_export_still_meet_the_gcp_rules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = {"protoPayload": {"serviceName": "iam.googleapis.com",
                            "methodName": "google.iam.admin.v1.CreateServiceAccountKey",
                            "authenticationInfo": {"principalEmail": "eve@example.com"},
                            "requestMetadata": {"callerIp": "198.51.100.4"}},
           "resource": {"type": "service_account"}, "timestamp": T}
    f = tmp_path / "gcp.jsonl"
    f.write_bytes(_lines([key, _gke_entry(EXEC)]))
    rules = {a["rule_id"]: a["evidence"][0]["source"] for a in _detect(f, capsys)}
    assert rules["CNSEC-DET-K8S-009"] == "k8s-audit" and rules["CNSEC-DET-GCP-001"] == "gcp-audit"


def test_a_json_log_whose_message_is_plain_text_is_not_taken_apart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.jsonl"
    f.write_bytes(_lines([{"message": "user logged in", "user": "bob"}, {"message": "{not json", "user": "bob"}]))
    main(["detect", str(f), "-f", "json", "--fail-on", "none"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["stats"]["events"] == 2 and doc["stats"]["inputs"][str(f)] == "json" and doc["errors"] == []


def test_cloudwatch_batches_written_back_to_back_by_firehose_are_each_unwrapped(
        raw_alerts: list[tuple[str, str, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "firehose-eks.gz"  # one gzip member per batch, no newline between the batches
    f.write_bytes(b"".join(gzip.compress(json.dumps(_cloudwatch_batch([e])).encode()) for e in ATTACKS))
    main(["detect", str(f), "-f", "json", "--fail-on", "none", "--min-severity", "low"])
    doc = json.loads(capsys.readouterr().out)
    assert _summary(doc["alerts"]) == raw_alerts and doc["errors"] == []
