"""The RBAC audit on real manifests says each risk once and only when it is there (issue #12).

Inputs in fixtures/rbac/realworld (sources in its SOURCES.md).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cnsec.iam.rbac_audit import RiskyGrant, audit, load_model
from cnsec.iam.rbac_report import audit_report
from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.rbac import RbacModel, parse_request

REAL = Path(__file__).parent / "fixtures" / "rbac" / "realworld"


def _audit(name: str) -> list[RiskyGrant]:
    model, problems = load_model([str(REAL / name)])
    assert not problems and not model.problems
    return audit(model)


def _model(text: str) -> RbacModel:
    parsed = parse_k8s(text, "rbac.yaml")
    assert not parsed.problems and not parsed.skipped
    return RbacModel.from_resources(parsed.resources)


def test_a_cluster_admin_binding_is_one_finding_per_subject_that_covers_the_rest() -> None:
    """kubernetes-goat binds cluster-admin to one service account: one finding, not 25."""
    [g] = _audit("kubernetes-goat-insecure-rbac.yaml")
    assert g.entry.id == "CNSEC-RBAC-001" and str(g.subject) == "ServiceAccount kube-system/superadmin"
    assert {"CNSEC-RBAC-003", "CNSEC-RBAC-010", "CNSEC-RBAC-012"} <= set(g.covers)
    [f] = audit_report([str(REAL / "kubernetes-goat-insecure-rbac.yaml")]).findings
    assert "CNSEC-RBAC-003" in f.attrs["covers"]


def test_an_operator_holding_every_right_is_not_said_to_reach_a_more_privileged_account() -> None:
    """argo-cd's application controller has * on * cluster-wide: no pod-creation path, one finding."""
    grants = [g for g in _audit("argo-cd-install-rbac.yaml") if g.subject.name == "argocd-application-controller"]
    assert [g.entry.id for g in grants] == ["CNSEC-RBAC-001"]


def test_patching_secrets_is_not_creating_them() -> None:
    """argocd-server may delete, get and patch everything, but create nothing."""
    server = Counter(g.entry.id for g in _audit("argo-cd-install-rbac.yaml") if g.subject.name == "argocd-server")
    assert "CNSEC-RBAC-027" not in server
    assert server["CNSEC-RBAC-003"] == 1 and server["CNSEC-RBAC-014"] == 1  # what it can do is still there
    creator = _model(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: kube-system}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [create]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: kube-system}\n"
        "subjects: [{kind: User, name: u}]\nroleRef: {kind: Role, name: r}\n")
    assert [g.entry.id for g in audit(creator)] == ["CNSEC-RBAC-027"]


def test_a_namespace_admin_still_reaches_a_cluster_admin_service_account_of_its_namespace() -> None:
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ops, namespace: ci}\n"
            "subjects: [{kind: User, name: alice}]\nroleRef: {kind: ClusterRole, name: cluster-admin}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: deployer}\n"
            "subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]\n"
            "roleRef: {kind: ClusterRole, name: cluster-admin}\n")
    paths = [g for g in audit(_model(text)) if g.entry.id == "CNSEC-RBAC-030"]
    assert [(g.subject.name, g.binding.scope) for g in paths] == [("alice", "ci")]
    assert "ServiceAccount ci/deployer" in paths[0].via


def test_cluster_wide_write_on_endpoints_is_a_traffic_hijack_risk() -> None:
    """prometheus-operator creates and updates services, endpoints and endpointslices cluster-wide (it
    keeps the kubelet's): a true grant of the CVE-2020-8554 / CVE-2021-25740 class."""
    [g] = [g for g in _audit("kube-prometheus-operator-rbac.yaml") if g.entry.id == "CNSEC-RBAC-029"]
    assert g.binding.scope is None and g.rule is not None and "services" in g.rule.resources
    text = (REAL / "kube-prometheus-operator-rbac.yaml").read_text().replace(
        "kind: ClusterRoleBinding\nmetadata:\n", "kind: RoleBinding\nmetadata:\n  namespace: monitoring\n")
    assert not [g for g in audit(_model(text)) if g.entry.id == "CNSEC-RBAC-029"]  # in one namespace: not this
    for verb, resource in (("patch", "services"), ("create", "endpointslices")):
        model = _model(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n"
            f"- {{apiGroups: ['', discovery.k8s.io], resources: [{resource}], verbs: [{verb}]}}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
            "subjects: [{kind: User, name: u}]\nroleRef: {kind: ClusterRole, name: r}\n")
        assert [g.entry.id for g in audit(model)] == ["CNSEC-RBAC-029"], (verb, resource)
        assert model.can("u", parse_request(verb, resource)) is not None


def test_a_service_account_without_namespace_in_a_rolebinding_is_in_the_bindings_namespace() -> None:
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: payments}\n"
            "rules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: payments}\n"
            "subjects: [{kind: ServiceAccount, name: app}]\nroleRef: {kind: Role, name: r}\n")
    model = _model(text)
    [g] = audit(model)
    assert str(g.subject) == "ServiceAccount payments/app"
    assert model.can("system:serviceaccount:payments:app", parse_request("get", "secrets", "payments"))
    assert not model.can("system:serviceaccount:default:app", parse_request("get", "secrets", "payments"))
