"""The RBAC authorizer's semantics and role resolution (cnsec.k8s.rbac), as the API server applies them:
rule matching, binding scope, aggregation, implicit groups, who-can."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.rbac import PolicyRule, RbacModel, parse_request, rule_allows

SHOP = Path(__file__).resolve().parents[1] / "iam" / "fixtures" / "rbac" / "shop.yaml"


@pytest.fixture(scope="module")
def shop() -> RbacModel:
    parsed = parse_k8s(SHOP.read_text(encoding="utf-8"), str(SHOP))
    assert not parsed.problems
    return RbacModel.from_resources(parsed.resources)


def _rule(**kw: list[str]) -> PolicyRule:
    return PolicyRule(tuple(kw.get("verbs", [])), tuple(kw.get("apiGroups", [""])), tuple(kw.get("resources", [])),
                      tuple(kw.get("resourceNames", [])), tuple(kw.get("nonResourceURLs", [])), 0, "test")


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


def test_who_can_over_a_cluster_dump_in_json() -> None:
    dump = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"b{i}"},
         "subjects": [{"kind": "User", "name": f"u{i}"}],
         "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}} for i in range(50)]}
    parsed = parse_k8s(json.dumps(dump), "dump.json")
    model = RbacModel.from_resources(parsed.resources)
    assert len(model.who_can(parse_request("delete", "nodes"))) == 50


def test_rolebinding_never_grants_non_resource_urls(shop: RbacModel) -> None:
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: metrics}\n"
            "rules: [{nonResourceURLs: ['/metrics'], verbs: [get]}]\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: m, namespace: x}\n"
            "subjects: [{kind: User, name: u}]\nroleRef: {kind: ClusterRole, name: metrics}\n")
    model = RbacModel.from_resources(parse_k8s(text, "m.yaml").resources)
    assert model.can("u", parse_request("get", "/metrics")) is None
