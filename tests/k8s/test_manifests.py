"""Manifests and cluster dumps into resources with their file:line (cnsec.k8s.manifests, cnsec.k8s.resource)."""

from __future__ import annotations

import json

from cnsec.k8s.manifests import parse_k8s

DUMP = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: api, namespace: shop}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: reader
    namespace: ignored
"""


def test_a_kind_list_dump_gives_each_item_at_its_own_line() -> None:
    parsed = parse_k8s(DUMP, "dump.yaml")
    assert [(r.kind, r.name, r.line) for r in parsed.resources] == [("ServiceAccount", "api", 4),
                                                                    ("ClusterRole", "reader", 7)]
    sa, role = parsed.resources
    assert sa.effective_namespace == "shop" and role.effective_namespace is None  # cluster-scoped


def test_items_of_a_typed_list_take_the_kind_of_the_list() -> None:
    dump = {"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [{"metadata": {"name": "web"}}]}
    [res] = parse_k8s(json.dumps(dump), "deployments.json").resources
    assert (res.kind, res.api_version, res.name, res.effective_namespace) == ("Deployment", "apps/v1", "web", "default")


def test_a_broken_document_is_a_problem_at_its_line_and_its_neighbours_are_kept() -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkey: [unclosed\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    parsed = parse_k8s(text, "cm.yaml")
    assert [r.name for r in parsed.resources] == ["a", "b"]
    assert [(p.file, p.line) for p in parsed.problems] == [("cm.yaml", 5)]


def test_a_go_template_that_does_not_load_is_skipped_once_per_file_not_an_error() -> None:
    text = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n"
            "{{- include \"labels\" . | nindent 4 }}\n---\n{{- if .Values.x }}\nkind: Secret\n{{- end }}\n")
    parsed = parse_k8s(text, "templates/svc.yaml")
    assert parsed.problems == [] and parsed.resources == []
    [skipped] = parsed.skipped
    assert skipped.line == 6  # where the first template stops loading
    assert "2 documents" in skipped.message and "helm template" in skipped.message


def test_line_at_is_the_line_of_the_deepest_key_that_exists() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
            "    image: nginx\n    securityContext:\n      privileged: true\n")
    [pod] = parse_k8s(text, "pod.yaml").resources
    assert pod.line_at("spec", "containers", 0, "securityContext", "privileged") == 9
    assert pod.line_at("spec", "containers", 0, "resources", "limits") == 6  # the container, where it would go
    assert pod.get("spec", "containers", 0, "image") == "nginx" and pod.get("spec", "volumes", 0) is None
