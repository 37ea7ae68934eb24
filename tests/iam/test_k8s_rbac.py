from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.iam.rbac_audit import audit, load_model
from cnsec.k8s.rbac import PolicyRule, RbacModel, parse_request, rule_allows
from cnsec.model.severity import Severity
from tests.iam.conftest import CORPORA

SHOP = Path(__file__).parent / "fixtures" / "rbac" / "shop.yaml"


def _rule(**kw: list[str]) -> PolicyRule:
    return PolicyRule(tuple(kw.get("verbs", [])), tuple(kw.get("apiGroups", [""])), tuple(kw.get("resources", [])),
                      tuple(kw.get("resourceNames", [])), tuple(kw.get("nonResourceURLs", [])), 0, "test")


@pytest.fixture(scope="module")
def shop() -> RbacModel:
    model, problems = load_model([str(SHOP)])
    assert not problems
    return model


def test_resource_does_not_cover_its_subresources() -> None:
    assert not rule_allows(_rule(verbs=["create"], resources=["pods"]), parse_request("create", "pods/exec"))


def test_star_slash_subresource_covers_that_subresource() -> None:
    assert rule_allows(_rule(verbs=["get"], resources=["*/exec"]), parse_request("get", "pods/exec"))


def test_resource_slash_star_is_not_a_wildcard() -> None:
    assert not rule_allows(_rule(verbs=["create"], resources=["pods/*"]), parse_request("create", "pods/exec"))


def test_resource_names_restrict_the_rule() -> None:
    rule = _rule(verbs=["get"], resources=["secrets"], resourceNames=["tls"])
    assert rule_allows(rule, parse_request("get", "secrets", name="tls"))
    assert not rule_allows(rule, parse_request("get", "secrets", name="db"))


def test_api_group_must_match() -> None:
    assert not rule_allows(_rule(verbs=["get"], apiGroups=["apps"], resources=["secrets"]),
                           parse_request("get", "secrets"))


def test_non_resource_url_prefix_wildcard() -> None:
    rule = _rule(verbs=["get"], nonResourceURLs=["/debug/*"])
    assert rule_allows(rule, parse_request("get", "/debug/pprof"))
    assert not rule_allows(rule, parse_request("get", "/metrics"))


def test_rolebinding_grants_only_in_its_namespace(shop: RbacModel) -> None:
    sa = "system:serviceaccount:shop:vault-sync"
    assert shop.can(sa, parse_request("get", "secrets", "shop")) is not None
    assert shop.can(sa, parse_request("get", "secrets", "payments")) is None


def test_aggregated_clusterrole_gets_the_selected_rules(shop: RbacModel) -> None:
    grant = shop.can("system:serviceaccount:monitoring:prometheus", parse_request("get", "nodes/proxy"))
    assert grant is not None and grant.role.name == "monitoring"
    assert grant.rule.origin == "ClusterRole/monitoring-nodes"


def test_service_accounts_belong_to_their_implicit_groups(shop: RbacModel) -> None:
    assert shop.can("system:serviceaccount:anywhere:x", parse_request("list", "pods", "default")) is not None


def test_who_can_names_subject_binding_and_role(shop: RbacModel) -> None:
    grants = shop.who_can(parse_request("create", "pods", "shop"))
    found = {(g.subject.kind, g.subject.name, g.binding.name, g.role.name) for g in grants}
    assert found == {("ServiceAccount", "api", "api-deployer", "deployer"),
                     ("Group", "shop-devs", "api-deployer", "deployer")}


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


def test_who_can_over_a_cluster_dump_in_json(tmp_path: Path) -> None:
    dump = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"b{i}"},
         "subjects": [{"kind": "User", "name": f"u{i}"}],
         "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}} for i in range(50)]}
    (tmp_path / "dump.json").write_text(json.dumps(dump))
    model, _ = load_model([str(tmp_path / "dump.json")])
    assert len(model.who_can(parse_request("delete", "nodes"))) == 50


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


def test_rolebinding_never_grants_non_resource_urls(shop: RbacModel) -> None:
    from cnsec.k8s.manifests import parse_k8s

    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: metrics}\n"
            "rules: [{nonResourceURLs: ['/metrics'], verbs: [get]}]\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: m, namespace: x}\n"
            "subjects: [{kind: User, name: u}]\nroleRef: {kind: ClusterRole, name: metrics}\n")
    model = RbacModel.from_resources(parse_k8s(text, "m.yaml").resources)
    assert model.can("u", parse_request("get", "/metrics")) is None
