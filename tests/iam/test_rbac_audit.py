"""The RBAC audit (cnsec.iam.rbac_audit): risky grants per subject, severities, escalation paths, and
agreement with Kubescape's labelled cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.iam.rbac_audit import audit, load_model
from cnsec.k8s.rbac import RbacModel
from cnsec.model.severity import Severity
from tests.iam.conftest import CORPORA

SHOP = Path(__file__).parent / "fixtures" / "rbac" / "shop.yaml"


@pytest.fixture(scope="module")
def shop() -> RbacModel:
    model, problems = load_model([str(SHOP)])
    assert not problems
    return model


def test_audit_reports_secret_readers_with_the_granting_rule(shop: RbacModel) -> None:
    hits = [g for g in audit(shop) if g.entry.id == "CNSEC-RBAC-003"]
    assert [(g.subject.name, g.binding.name, g.role.name, g.rule.index if g.rule else None) for g in hits] == [
        ("vault-sync", "vault-sync-secrets", "secret-reader", 0)]
    assert hits[0].severity == Severity.HIGH  # critical, one level lower: namespaced outside kube-system


def test_resource_names_lower_the_severity(shop: RbacModel) -> None:
    exec_hits = [g for g in audit(shop) if g.entry.id == "CNSEC-RBAC-012"]
    assert exec_hits and all(g.severity == Severity.LOW for g in exec_hits)


def test_pod_creators_reach_a_more_privileged_service_account(shop: RbacModel) -> None:
    paths = [g for g in audit(shop) if g.entry.id == "CNSEC-RBAC-030"]
    assert {g.subject.name for g in paths} == {"api", "shop-devs"}
    assert all("vault-sync" in g.via for g in paths)


def test_unknown_role_is_reported_not_fatal() -> None:
    from cnsec.k8s.manifests import parse_k8s

    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: x}\n"
            "subjects: [{kind: User, name: u}]\nroleRef: {kind: Role, name: ghost}\n")
    model = RbacModel.from_resources(parse_k8s(text, "b.yaml").resources)
    assert audit(model) == [] and "ghost" in model.problems[0]


# Kubescape's labelled RBAC cases: we agree except where Kubescape departs from the Kubernetes
# authorizer (pods/* is not a wildcard; a RoleBinding cannot grant cluster-scoped resources) or counts
# '*' resources in the core group alone as cluster-admin.
KUBESCAPE = {
    "rule-can-list-get-secrets-v1": ["CNSEC-RBAC-003"], "rule-can-impersonate-users-groups-v1": ["CNSEC-RBAC-005"],
    "rule-can-bind-escalate": ["CNSEC-RBAC-006", "CNSEC-RBAC-008"], "rule-can-create-pod": ["CNSEC-RBAC-010"],
    "exec-into-container-v1": ["CNSEC-RBAC-012"], "rule-can-portforward-v1": ["CNSEC-RBAC-015"],
    "rule-can-delete-k8s-events-v1": ["CNSEC-RBAC-021"], "rule-excessive-delete-rights-v1": ["CNSEC-RBAC-020"],
    "rule-can-create-pv": ["CNSEC-RBAC-022"], "rule-can-access-proxy-subresource": ["CNSEC-RBAC-016"],
    "rule-can-approve-cert-signing-request": ["CNSEC-RBAC-017"],
    "rule-can-modify-admission-webhooks": ["CNSEC-RBAC-018"],
    "rule-can-create-service-account-token": ["CNSEC-RBAC-004"],
    "rule-list-all-cluster-admins-v1": ["CNSEC-RBAC-001"],
}
KNOWN_DIFFERENCES = {
    ("exec-into-container-v1", "clusterrole"): "pods/*",
    ("rule-can-portforward-v1", "clusterrole-clusterrolebinding"): "pods/*",
    **{(r, c): "RoleBinding cannot grant cluster-scoped resources"
       for r in ("rule-can-create-pv", "rule-can-access-proxy-subresource", "rule-can-approve-cert-signing-request",
                 "rule-can-modify-admission-webhooks") for c in ("clusterrole-rolebinding", "role-rolebinding")},
    ("rule-list-all-cluster-admins-v1", "clusterrole-rolebinding"): "core-group '*' is not every API group",
}


def test_agreement_with_kubescape_labelled_cases() -> None:
    root = CORPORA / "iam" / "kubescape-regolibrary" / "rules"
    if not root.is_dir():
        pytest.skip("../shared/corpora/iam is not available")
    unexplained, total, agreed = [], 0, 0
    for rule, ids in KUBESCAPE.items():
        for case in sorted((root / rule / "test").iterdir()):
            want = {(e["alertObject"]["externalObjects"]["kind"], e["alertObject"]["externalObjects"]["name"])
                    for e in json.loads((case / "expected.json").read_text())
                    if e.get("alertObject", {}).get("externalObjects")}
            model, _ = load_model([str(case / "input")])
            got = {(g.subject.kind, g.subject.name) for g in audit(model)
                   if g.entry.id in ids or set(g.covers) & set(ids)}  # cluster-admin covers the rest
            total += 1
            if got == want:
                agreed += 1
            elif (rule, case.name) not in KNOWN_DIFFERENCES:
                unexplained.append((rule, case.name, sorted(want), sorted(got)))
    assert not unexplained
    assert agreed >= 29 and total >= 40


def test_workload_mounting_a_powerful_service_account_is_reported() -> None:
    root = CORPORA / "iam" / "kubescape-regolibrary" / "rules" / "workload-with-cluster-takeover-roles" / "test"
    if not root.is_dir():
        pytest.skip("../shared/corpora/iam is not available")
    for case in sorted(root.iterdir()):
        model, _ = load_model([str(case / "input")])
        flagged = any(g.entry.id == "CNSEC-RBAC-031" for g in audit(model))
        assert flagged == case.name.startswith("fail"), case.name


def test_workload_without_token_mount_is_not_reported(shop: RbacModel) -> None:
    from cnsec.k8s.manifests import parse_k8s

    text = SHOP.read_text() + (
        "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: sync, namespace: shop}\n"
        "spec:\n  serviceAccountName: vault-sync\n  automountServiceAccountToken: false\n"
        "  containers: [{name: c, image: x}]\n")
    model = RbacModel.from_resources(parse_k8s(text, "shop.yaml").resources)
    assert not [g for g in audit(model) if g.entry.id == "CNSEC-RBAC-031"]
