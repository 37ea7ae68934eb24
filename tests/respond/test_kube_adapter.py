"""The real adapter (official ``kubernetes`` client, kubeconfig) against a tiny local API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cnsec.respond.kube import KubeError, KubernetesApi


class FakeApiServer:
    """A REST store keyed by URL path: GET/PUT/PATCH/DELETE an object, POST to its collection."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, content type)


def _write_kubeconfig(tmp_path: Path, server: str) -> str:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": "test-token"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}]}))
    return str(kubeconfig)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeApiServer, str]]:
    state = FakeApiServer()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else {}

        def _handle(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append((self.command, path, self.headers.get("Content-Type", "")))
            if self.command == "POST":
                body = self._body()
                state.objects[f"{path}/{body['metadata']['name']}"] = body
                return self._send(201, body)
            if self.command == "GET" and path in state.objects:
                return self._send(200, state.objects[path])
            if self.command == "GET" and path.endswith("rolebindings"):
                items = [o for p, o in state.objects.items() if "/rolebindings/" in p]
                return self._send(200, {"kind": "RoleBindingList", "apiVersion": "rbac.authorization.k8s.io/v1",
                                        "metadata": {}, "items": items})
            if path not in state.objects:
                return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "reason": "NotFound", "code": 404})
            if self.command == "PUT":
                state.objects[path] = self._body()
            elif self.command == "PATCH":
                patch = self._body()
                state.objects[path]["metadata"].setdefault("labels", {}).update(patch["metadata"]["labels"])
            elif self.command == "DELETE":
                del state.objects[path]
                return self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
            return self._send(200, state.objects[path])

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state, _write_kubeconfig(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


NP_PATH = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"


def test_a_missing_object_reads_as_none(api: tuple[FakeApiServer, str]) -> None:
    _, kubeconfig = api
    assert KubernetesApi(kubeconfig).read_network_policy("shop", "cnsec-blocklist") is None


def test_create_then_read_round_trips_the_manifest(api: tuple[FakeApiServer, str]) -> None:
    from cnsec.respond.actions.block_traffic import block_policy

    state, kubeconfig = api
    kube = KubernetesApi(kubeconfig)
    body = block_policy("shop", "cnsec-blocklist", {"app": "web"}, ["203.0.113.7/32"], True)
    kube.create_network_policy("shop", body)
    assert state.requests[-1][:2] == ("POST", NP_PATH)
    assert kube.read_network_policy("shop", "cnsec-blocklist") == body


def test_labels_are_patched_on_the_pod(api: tuple[FakeApiServer, str]) -> None:
    state, kubeconfig = api
    pod_path = "/api/v1/namespaces/shop/pods/web-1"
    state.objects[pod_path] = {"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}}}
    KubernetesApi(kubeconfig).patch_pod_labels("shop", "web-1", {"cnsec.io/quarantine": "true"})
    method, _, content_type = state.requests[-1]
    assert method == "PATCH" and "merge-patch+json" in content_type
    assert state.objects[pod_path]["metadata"]["labels"] == {"app": "web", "cnsec.io/quarantine": "true"}


def test_role_bindings_are_listed_across_namespaces(api: tuple[FakeApiServer, str]) -> None:
    state, kubeconfig = api
    state.objects["/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/alice-edit"] = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-edit", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]}
    [binding] = KubernetesApi(kubeconfig).list_role_bindings("*")
    assert binding["subjects"][0]["name"] == "alice"


def test_an_unreachable_api_server_is_a_kube_error(tmp_path: Path) -> None:
    kubeconfig = _write_kubeconfig(tmp_path, "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(KubeError, match="read networkpolicy shop/x"):
        KubernetesApi(kubeconfig).read_network_policy("shop", "x")


def test_a_missing_kubeconfig_is_a_kube_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeError, match="cannot load a Kubernetes configuration"):
        KubernetesApi(str(tmp_path / "nope"))


def test_block_traffic_applies_through_the_real_client(api: tuple[FakeApiServer, str], tmp_path: Path) -> None:
    from cnsec.respond.actions.base import ActionContext
    from cnsec.respond.audit import AuditTrail
    from cnsec.respond.engine import Responder
    from cnsec.respond.playbooks import parse_playbook
    from tests.respond.conftest import loaded, make_alert

    state, kubeconfig = api
    playbook = parse_playbook("""
rules:
  - name: block
    do: [{block_traffic: {namespace: shop, via: [networkpolicy]}}]
""", "p.yaml")
    ctx = ActionContext(apply=True, kube_factory=lambda: KubernetesApi(kubeconfig), env={})
    result = Responder(playbook, ctx, AuditTrail(tmp_path / "a.jsonl")).run(
        loaded(make_alert("203.0.113.7"), make_alert("198.51.100.9")))
    assert result.counts() == {"applied": 2}
    policy = state.objects[f"{NP_PATH}/cnsec-blocklist"]
    assert policy["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"] == ["198.51.100.9/32", "203.0.113.7/32"]
    assert [m for m, p, _ in state.requests if p.startswith(NP_PATH)].count("PUT") == 1


def test_after_a_connection_failure_later_calls_fail_fast(tmp_path: Path) -> None:
    import time

    kubeconfig = _write_kubeconfig(tmp_path, "http://127.0.0.1:9")  # nothing listens on port 9
    kube = KubernetesApi(kubeconfig)
    with pytest.raises(KubeError):
        kube.read_pod("shop", "a")
    started = time.monotonic()
    with pytest.raises(KubeError, match="the Kubernetes API is unreachable"):
        kube.read_pod("shop", "b")
    assert time.monotonic() - started < 0.1


def test_deleting_a_binding_already_gone_is_not_an_error(api: tuple[FakeApiServer, str]) -> None:
    from cnsec.respond.kube import RecordingKubeApi

    _, kubeconfig = api
    KubernetesApi(kubeconfig).delete_role_binding("shop", "gone")
    double = RecordingKubeApi()
    double.delete_role_binding("shop", "gone")  # the double behaves like the real adapter
    assert double.writes() == [("delete", "RoleBinding", "shop", "gone")]
