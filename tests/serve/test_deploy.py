"""The deployment files we ship for cnsec serve: cnsec assesses its own manifests with no high or
critical finding, the pod spec is hardened field by field, no credential is written into any of them,
and the audit policy logs Secrets at Metadata only (evaluated as the API server evaluates it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnsec.yamlsafe import load_documents

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

#: Findings accepted on our own manifests, each with why (anything else fails the test).
ACCEPTED = {
    "CNSEC-K8S-025": "the image cannot be pinned to a digest in a file shipped before the image is built: "
                     "the manifest says to replace it with the digest of your build",
}


def assess(*paths: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-m", "cnsec", "assess", *map(str, paths), "-f", "json", "--fail-on", "none"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def docs(path: Path) -> list[Any]:
    return [doc for doc, _ in load_documents(path.read_text()) if doc]


def test_cnsec_assesses_its_own_deployment_with_no_high_or_critical_finding() -> None:
    report = assess(DEPLOY / "serve", DEPLOY / "audit-policy.yaml")
    assert report["errors"] == [] and report["skipped"] == []
    assert report["summary"]["files"] == 4 and report["summary"]["resources"] >= 5
    severe = [(f["check_id"], f["severity"]) for f in report["findings"] if f["severity"] in ("high", "critical")]
    assert severe == []
    assert {f["check_id"] for f in report["findings"]} <= set(ACCEPTED)


def test_the_pod_spec_is_hardened() -> None:
    deployment = next(d for d in docs(DEPLOY / "serve" / "deployment.yaml") if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] >= 10000
    assert {"cpu", "memory"} <= set(container["resources"]["limits"]) and container["resources"]["requests"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "--db-file" in container["args"] and "--tls-cert" in container["args"]
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {"cnsec-db", "cnsec-tls"}  # referenced by name; no Secret object with values is shipped
    kinds = {d["kind"] for p in (DEPLOY / "serve").glob("*.yaml") for d in docs(p)}
    assert "Secret" not in kinds and {"Deployment", "Service", "NetworkPolicy", "ServiceAccount"} <= kinds


def test_the_network_policy_selects_the_server_and_limits_both_directions() -> None:
    (policy,) = docs(DEPLOY / "serve" / "networkpolicy.yaml")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "cnsec-serve"}
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [8443]


def test_the_audit_webhook_kubeconfig_holds_no_credential_and_speaks_https() -> None:
    (config,) = docs(DEPLOY / "audit-webhook.kubeconfig")
    (cluster,) = config["clusters"]
    (user,) = config["users"]
    assert cluster["cluster"]["server"].startswith("https://") and cluster["cluster"]["server"].endswith(
        "/v1/ingest/k8s-audit")
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    assert set(user["user"]) == {"tokenFile"}  # never token:, password:, client-key-data:


def _level(policy: dict[str, Any], group: str, resource: str, verb: str, user: str = "alice") -> str:
    """The audit level the API server applies to a request: the first rule that matches it."""
    for rule in policy["rules"]:
        if "nonResourceURLs" in rule:
            continue
        if "verbs" in rule and verb not in rule["verbs"]:
            continue
        if "users" in rule and user not in rule["users"]:
            continue
        if "resources" in rule and not any(r.get("group", "") == group and resource in r.get("resources", [])
                                           for r in rule["resources"]):
            continue
        level: str = rule["level"]
        return level
    return "None"


@pytest.mark.parametrize(("group", "resource", "verb", "level"), [
    ("", "secrets", "get", "Metadata"),
    ("", "secrets", "create", "Metadata"),       # a write carries the value: still Metadata
    ("", "secrets", "list", "Metadata"),
    ("", "configmaps", "update", "Metadata"),
    ("authentication.k8s.io", "tokenreviews", "create", "Metadata"),
    ("", "serviceaccounts/token", "create", "Metadata"),
    ("", "pods/exec", "create", "Request"),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "create", "RequestResponse"),
    ("", "pods", "create", "Request"),
    ("apps", "deployments", "get", "Metadata"),
    ("coordination.k8s.io", "leases", "update", "None"),
])
def test_the_audit_policy_logs_what_the_rules_need_and_no_secret_value(
        group: str, resource: str, verb: str, level: str) -> None:
    (policy,) = docs(DEPLOY / "audit-policy.yaml")
    assert policy["apiVersion"] == "audit.k8s.io/v1" and policy["kind"] == "Policy"
    assert policy["omitStages"] == ["RequestReceived"]
    assert _level(policy, group, resource, verb) == level
