"""Behaviour of the workload-hygiene checks (CNSEC-K8S-020..040, 060..063) beyond pass/fail.

The patches they offer must really fix what they report, lines must point at the offending key, and
no odd manifest may make them raise.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cnsec.assess.checks.base import registry
from cnsec.assess.checks.k8s._images import parse_image
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding

FIXTURES = Path(__file__).parent / "fixtures"
MINE = sorted(
    cid for cid, c in registry().items()
    if c.module.rsplit(".", 1)[-1] in {
        "memory_limit", "memory_request", "cpu_limit", "cpu_request", "liveness_probe", "readiness_probe",
        "image_tag", "image_digest", "image_registry", "image_pull_policy", "secret_env",
        "sa_token_automount", "default_service_account", "default_sa_automount", "default_sa_binding",
        "default_namespace", "network_policy", "naked_pod", "ssh_port", "internet_exposed", "ingress_tls",
        "dashboard", "tiller", "nginx_snippet",
    }
)


def _run(path: Path, check_id: str, config: Config | None = None) -> list[Finding]:
    report = assess([str(path)], config or Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if f.check_id == check_id]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def _apply(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """Just enough RFC 6902 (add, replace, remove) to apply the checks' patches."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(op["path"])
        node = doc
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node[step]
        if op["op"] == "remove":
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            if last == "-":
                node.append(op["value"])
            else:
                node.insert(int(last), op["value"])
        else:
            node[last] = op["value"]
    return doc


def _same(doc: Any, f: Finding) -> bool:
    meta = doc.get("metadata") or {}
    return isinstance(doc, dict) and f.asset_id.split("/")[-1] == meta.get("name") and \
        f.asset_id.split("/")[0] == doc.get("kind")


@pytest.mark.parametrize("check_id", [c for c in MINE if (FIXTURES / c).is_dir()])
def test_patches_fix_what_they_report(check_id: str, tmp_path: Path) -> None:
    patched_any = False
    for path in sorted((FIXTURES / check_id).glob("fail*")):
        for f in _run(path, check_id):
            if not f.patch:
                continue
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
            docs = [_apply(d, f.patch) if _same(d, f) else d for d in docs]
            fixed = _write(tmp_path, path.name, yaml.safe_dump_all(docs, sort_keys=False))
            after = {(g.asset_id, g.location) for g in _run(fixed, check_id)}
            assert (f.asset_id, f.location) not in after, f"{path.name}: patch {f.patch} did not fix {f.message}"
            patched_any = True
    if check_id in {"CNSEC-K8S-024", "CNSEC-K8S-025", "CNSEC-K8S-026", "CNSEC-K8S-033", "CNSEC-K8S-034",
                    "CNSEC-K8S-036", "CNSEC-K8S-038", "CNSEC-K8S-039"}:
        return  # no JSON patch can know the right version, digest, registry or policy here
    assert patched_any, f"{check_id}: no fail fixture produced a patch"


def test_memory_limit_patch_reuses_the_memory_request() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-020" / "fail.yaml", "CNSEC-K8S-020")
    assert f.patch == [{"op": "add", "path": "/spec/template/spec/containers/0/resources/limits/memory",
                        "value": "128Mi"}]


def test_resource_finding_points_at_the_container_resources_line() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-020" / "fail.yaml", "CNSEC-K8S-020")
    lines = (FIXTURES / "CNSEC-K8S-020" / "fail.yaml").read_text().splitlines()
    assert lines[(f.source.line or 0) - 1].strip() == "limits:"


def test_init_container_without_memory_limit_is_reported_by_name() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-020" / "fail-initcontainer.yaml", "CNSEC-K8S-020")
    assert "'migrate'" in f.message
    assert f.location == "spec.template.spec.initContainers[0].resources.limits.memory"


def test_secret_env_patch_mounts_the_secret_as_a_read_only_file() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-028" / "fail.yaml", "CNSEC-K8S-028")
    assert f.patch is not None
    assert f.patch[0] == {"op": "remove", "path": "/spec/template/spec/containers/0/env/1"}
    assert {"name": "secret-db", "secret": {"secretName": "db"}} in f.patch[1]["value"]
    assert f.patch[2]["value"] == [{"name": "secret-db", "mountPath": "/etc/secrets/db", "readOnly": True}]
    assert "DB_PASSWORD" in f.message


def test_sa_token_check_honours_the_service_account_setting() -> None:
    assert not _run(FIXTURES / "CNSEC-K8S-030" / "pass-sa-false.yaml", "CNSEC-K8S-030")
    [f] = _run(FIXTURES / "CNSEC-K8S-030" / "fail-pod-true-sa-false.yaml", "CNSEC-K8S-030")
    assert "sets automountServiceAccountToken: true" in f.message


def test_sa_token_check_says_when_the_account_is_not_in_the_inventory() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-030" / "fail.yaml", "CNSEC-K8S-030")
    assert "not in the inventory" in f.message
    assert f.patch == [{"op": "add", "path": "/spec/automountServiceAccountToken", "value": False}]


def test_uncovered_workload_gets_one_finding_with_a_default_deny_policy(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-033" / "fail.yaml").read_text()
    [f] = _run(_write(tmp_path, "app.yaml", text), "CNSEC-K8S-033")
    assert f.asset_id == "Deployment/shop/api"
    assert f.fix is not None
    policy = yaml.safe_load(f.fix)
    assert policy["kind"] == "NetworkPolicy"
    assert policy["metadata"]["namespace"] == "shop"
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert text.splitlines()[(f.source.line or 0) - 1].strip().startswith("labels:")


def test_network_policy_in_another_file_covers_the_workload(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text((FIXTURES / "CNSEC-K8S-031" / "fail.yaml").read_text())
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n")
    assert not _run(tmp_path, "CNSEC-K8S-033")


def test_exposed_workload_names_the_load_balancer_and_offers_cluster_ip() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-036" / "fail.yaml", "CNSEC-K8S-036")
    assert "through Service admin" in f.message
    assert f.fix is not None and "type: ClusterIP" in f.fix


def test_exposure_override_in_config_is_what_the_check_reads(tmp_path: Path) -> None:
    from cnsec.assess.config import AssetRule

    cfg = Config(assets=[AssetRule(match="Deployment/shop/api", exposure="internet")])
    [f] = _run(FIXTURES / "CNSEC-K8S-036" / "pass.yaml", "CNSEC-K8S-036", cfg)
    assert f.asset_id == "Deployment/shop/api"


def test_ingress_tls_patch_lists_the_ingress_hosts() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-037" / "fail.yaml", "CNSEC-K8S-037")
    assert f.patch == [{"op": "add", "path": "/spec/tls",
                        "value": [{"hosts": ["shop.example.com"], "secretName": "web-tls"}]}]


def test_naked_pod_fix_is_a_deployment_running_the_same_pod() -> None:
    path = FIXTURES / "CNSEC-K8S-034" / "fail.yaml"
    [f] = _run(path, "CNSEC-K8S-034")
    assert f.fix is not None
    dep = yaml.safe_load(f.fix)
    pod = yaml.safe_load(path.read_text())
    assert dep["kind"] == "Deployment"
    assert dep["spec"]["template"]["spec"] == pod["spec"]
    assert dep["spec"]["selector"]["matchLabels"] == dep["spec"]["template"]["metadata"]["labels"]


def test_nginx_snippet_message_flags_lua_code() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-040" / "fail.yaml", "CNSEC-K8S-040")
    assert "Lua" in f.message
    assert f.patch == [{"op": "remove",
                        "path": "/metadata/annotations/nginx.ingress.kubernetes.io~1server-snippet"}]


def test_a_digest_pinned_image_passes_whatever_its_pull_policy(tmp_path: Path) -> None:
    """A cached image under a digest is that image: pulling again cannot bring anything else."""
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers:\n"
           "    - name: c\n      image: busybox:1.36@sha256:" + "a" * 64 + "\n      imagePullPolicy: POLICY\n")
    for policy in ("IfNotPresent", "Never"):
        assert not _run(_write(tmp_path, "pod.yaml", pod.replace("POLICY", policy)), "CNSEC-K8S-027")
    [f] = _run(_write(tmp_path, "pod.yaml", pod.replace("@sha256:" + "a" * 64, "").replace("POLICY", "Never")),
               "CNSEC-K8S-027")
    assert "'Never'" in f.message


@pytest.mark.parametrize(("ref", "registry_", "repo", "tag"), [
    ("nginx", "docker.io", "library/nginx", ""),
    ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
    ("registry.example.com:5000/tools/init", "registry.example.com:5000", "tools/init", ""),
    ("localhost/app:dev", "localhost", "app", "dev"),
    ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2"),
    ("ghcr.io/acme/api:1.0@sha256:" + "b" * 64, "ghcr.io", "acme/api", "1.0"),
])
def test_image_references_are_read_like_a_container_runtime(ref: str, registry_: str, repo: str,
                                                            tag: str) -> None:
    img = parse_image(ref)
    assert (img.registry, img.repository, img.tag) == (registry_, repo, tag)


ODD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: odd, namespace: null, labels: null, annotations: null}
spec:
  template:
    metadata: {labels: "not-a-map"}
    spec:
      automountServiceAccountToken: "yes"
      serviceAccountName: 42
      containers:
        - "just-a-string"
        - name: c
          image: 12
          imagePullPolicy: null
          resources: "big"
          env: "FOO=bar"
          envFrom: [null, {secretRef: null}]
          ports: [null, {containerPort: "22"}, 7]
          livenessProbe: null
        - name: d
          image: null
          env: [null, {name: X, valueFrom: "secret"}]
          ports: "80"
---
apiVersion: v1
kind: Pod
metadata: null
spec: null
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, annotations: {snippet-thing: null}}
spec: {tls: "yes", rules: "none"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec: {podSelector: "app=x"}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c}
specs: [null, {endpointSelector: null}]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {type: LoadBalancer, selector: null}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
subjects: "default"
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default}
automountServiceAccountToken: "false"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: null
"""


def test_odd_manifests_never_make_a_check_fail(tmp_path: Path) -> None:
    p = _write(tmp_path, "odd.yaml", ODD)
    report = assess([str(p)], Config(allowed_registries=("registry.example.com",)), only=set(MINE))
    assert not [str(e) for e in report.errors]


@pytest.mark.parametrize(("ref", "pinned"), [
    ("nginx@sha256:" + "a" * 64, True),
    ("nginx@sha256:" + "a" * 63, False),
    ("nginx@sha256:" + "A" * 64, False),
    ("nginx@sha512:" + "a" * 32, False),
    ("nginx@blake3:" + "a" * 64, True),
    ("nginx@custom-algorithm:a", True),
    ("nginx:1.25", False),
])
def test_only_well_formed_digests_count_as_pinned(ref: str, pinned: bool) -> None:
    assert parse_image(ref).has_valid_digest is pinned


def _registry_check() -> Any:
    return pytest.importorskip("cnsec.assess.checks.k8s.image_registry",
                               reason="CNSEC-K8S-026 lands once the fixture harness reads .cnsec.yaml")


def _allowlist_config() -> Config:
    from cnsec.assess.config import find_config

    return find_config([str(FIXTURES / "CNSEC-K8S-026")], None)


def test_registry_allowlist_reports_images_from_other_registries() -> None:
    _registry_check()
    [f] = _run(FIXTURES / "CNSEC-K8S-026" / "fail.yaml", "CNSEC-K8S-026", _allowlist_config())
    assert "ghcr.io/someone-else/proxy:1.0" in f.message
    assert f.location == "spec.containers[1].image"


def test_registry_allowlist_accepts_listed_hosts_and_repository_prefixes() -> None:
    _registry_check()
    assert not _run(FIXTURES / "CNSEC-K8S-026" / "pass.yaml", "CNSEC-K8S-026", _allowlist_config())


def test_empty_registry_allowlist_reports_nothing() -> None:
    _registry_check()
    assert not _run(FIXTURES / "CNSEC-K8S-026" / "fail.yaml", "CNSEC-K8S-026", Config())


@pytest.mark.parametrize(("image", "entries", "ok"), [
    ("nginx:1.25", ("docker.io",), True),
    ("nginx:1.25", ("docker.io/library",), True),
    ("bitnami/redis:7", ("docker.io/library",), False),
    ("eu.gcr.io/p/app:1", ("*.gcr.io",), True),
    ("ghcr.io/acme-evil/app:1", ("ghcr.io/acme",), False),
    ("registry.example.com:5000/app:1", ("registry.example.com:5000",), True),
])
def test_registry_allowlist_entries_match_hosts_globs_and_prefixes(image: str, entries: tuple[str, ...],
                                                                   ok: bool) -> None:
    mod = _registry_check()
    assert mod.allowed(parse_image(image), entries) is ok


def test_exposed_workload_names_the_ingress_that_routes_to_it() -> None:
    [f] = _run(FIXTURES / "CNSEC-K8S-036" / "fail-ingress.yaml", "CNSEC-K8S-036")
    assert f.message.endswith("through Ingress web")
    assert f.fix is None
