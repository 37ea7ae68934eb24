"""A Kubernetes API server on loopback that serves a recorded cluster, for the live reader's tests and
for ``bench/cluster_bench.py`` (which imports this file by path).

It lives with the tests, not in ``src/``: it is test equipment (it answers only the read requests
the reader makes, from memory), not something a user runs, and it must not ship in the wheel.

What it serves is shaped as a real API server (1.30) serves it, so the real ``kubernetes`` client
and the reader meet the same bytes they meet in production:

* discovery: ``/api``, ``/api/v1``, ``/apis`` (with preferred versions), ``/apis/<group>/<version>``;
* lists, cluster-wide and per namespace, whose items carry no ``kind``/``apiVersion`` (as real lists),
  paged with ``limit``/``continue`` (an opaque token; a token from another list is a 400, an expired
  one a 410), ``fieldSelector=metadata.name=…``;
* ``PartialObjectMetadataList`` when the ``Accept`` header asks for it (what ``kubectl get
  --output-watch-events`` and the reader use), full objects otherwise;
* a bearer token is required (401 without it); chosen resources answer 403 with the API server's
  own ``Status`` wording, or answer slowly;
* every request is recorded (path, query, Accept header), so tests can assert what was asked.

The recorded cluster is built from manifests as the control plane would build it: namespaces and
uids filled in, ``kubectl apply``'s last-applied annotation on every object (for Secrets that is
their data: a reader must drop it), and the controllers' children created (a Deployment's
ReplicaSet and pods, a StatefulSet's and a DaemonSet's pods, a CronJob's Job and pod) with
``ownerReferences``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

TOKEN = "cnsec-test-token"

#: kind → (group, version, resource, namespaced) of the built-in kinds a 1.30 server serves.
BUILTIN: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True), "Service": ("", "v1", "services", True),
    "Namespace": ("", "v1", "namespaces", False), "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ConfigMap": ("", "v1", "configmaps", True), "Secret": ("", "v1", "secrets", True),
    "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "LimitRange": ("", "v1", "limitranges", True), "ResourceQuota": ("", "v1", "resourcequotas", True),
    "Endpoints": ("", "v1", "endpoints", True), "Event": ("", "v1", "events", True),
    "Node": ("", "v1", "nodes", False),
    "Deployment": ("apps", "v1", "deployments", True), "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True), "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Job": ("batch", "v1", "jobs", True), "CronJob": ("batch", "v1", "cronjobs", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "IngressClass": ("networking.k8s.io", "v1", "ingressclasses", False),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                                     False),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1",
                                       "validatingwebhookconfigurations", False),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "Lease": ("coordination.k8s.io", "v1", "leases", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
}
#: Custom resources that are cluster-scoped (everything else custom is namespaced here).
CLUSTER_SCOPED_CUSTOM = {"ClusterPolicy", "ClusterIssuer", "CiliumClusterwideNetworkPolicy"}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith("y") and not low.endswith(("ay", "ey", "oy")):
        return low[:-1] + "ies"
    if low.endswith(("s", "x", "ch", "sh")):
        return low + "es"
    return low + "s"


@dataclass(frozen=True, slots=True)
class Res:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def resource_of(kind: str, api_version: str) -> Res:
    if kind in BUILTIN:
        g, v, r, ns = BUILTIN[kind]
        return Res(g, v, r, kind, ns)
    group, _, version = api_version.rpartition("/")
    return Res(group, version, plural(kind), kind, kind not in CLUSTER_SCOPED_CUSTOM)


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _plain(value: Any) -> Any:
    """A loaded manifest as plain JSON types (the loader's dict subclasses, YAML dates)."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class RecordedCluster:
    """The objects of a cluster, by resource; each in the form the API server stores it."""

    objects: dict[Res, list[dict[str, Any]]] = field(default_factory=dict)
    #: (kind, namespace, name) of the objects built from manifests, in the order added
    sources: list[tuple[str, str | None, str]] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in self.objects.values())

    def add(self, doc: dict[str, Any], *, source: bool = True) -> dict[str, Any]:
        """Store ``doc`` as the server would after ``kubectl apply``; returns the stored object."""
        kind = str(doc["kind"])
        res = resource_of(kind, str(doc.get("apiVersion", "v1")))
        obj = _plain(doc)
        applied = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        obj["apiVersion"] = res.api_version
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        ns = meta.get("namespace")
        meta.setdefault("uid", _uid(kind, ns or "", meta["name"]))
        meta.setdefault("resourceVersion", str(1000 + self.count()))
        meta.setdefault("creationTimestamp", "2026-12-01T10:00:00Z")
        meta.setdefault("managedFields", [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                           "apiVersion": res.api_version, "time": "2026-12-01T10:00:00Z",
                                           "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}])
        if source:
            meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = applied + "\n"
            self.sources.append((kind, ns, str(meta["name"])))
        self.objects.setdefault(res, []).append(obj)
        return obj

    # -- what the controllers would create ---------------------------------------------------------
    def add_children(self, obj: dict[str, Any], nodes: int = 2) -> None:
        kind = obj["kind"]
        meta = obj["metadata"]
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        if kind == "Deployment":
            template = spec.get("template") or {}
            digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
            rs = self.add(_child("ReplicaSet", "apps/v1", f"{meta['name']}-{digest}", obj,
                                 {"replicas": spec.get("replicas", 1), "selector": spec.get("selector"),
                                  "template": template}), source=False)
            self._pods(rs, template, int(spec.get("replicas", 1) or 0),
                       lambda i: f"{rs['metadata']['name']}-{_suffix(rs, i)}", {"pod-template-hash": digest})
        elif kind == "StatefulSet":
            self._pods(obj, spec.get("template") or {}, int(spec.get("replicas", 1) or 0),
                       lambda i: f"{meta['name']}-{i}")
        elif kind == "DaemonSet":
            self._pods(obj, spec.get("template") or {}, nodes, lambda i: f"{meta['name']}-{_suffix(obj, i)}")
        elif kind == "CronJob":
            job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
            job = self.add(_child("Job", "batch/v1", f"{meta['name']}-29012345", obj, job_spec), source=False)
            self._pods(job, job_spec.get("template") or {}, 1, lambda i: f"{job['metadata']['name']}-"
                                                                        f"{_suffix(job, i)}")
        elif kind == "Job":
            self._pods(obj, spec.get("template") or {}, 1, lambda i: f"{meta['name']}-{_suffix(obj, i)}")

    def _pods(self, owner: dict[str, Any], template: dict[str, Any], n: int, name: Any,
              labels: dict[str, str] | None = None) -> None:
        for i in range(n):
            pod_spec = copy.deepcopy(template.get("spec") or {})
            pod_spec["nodeName"] = f"node-{i % 3}"
            pod = _child("Pod", "v1", name(i), owner, pod_spec)
            pod["metadata"]["labels"] = {**((template.get("metadata") or {}).get("labels") or {}), **(labels or {})}
            pod["status"] = {"phase": "Running", "podIP": f"10.0.{i // 250}.{i % 250 + 1}"}
            self.add(pod, source=False)


def _suffix(owner: dict[str, Any], i: int) -> str:
    return hashlib.sha256(f"{owner['metadata']['uid']}/{i}".encode()).hexdigest()[:5]


def _child(kind: str, api_version: str, name: str, owner: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    om = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": om.get("namespace"), "uid": _uid(kind, om.get("namespace", ""),
                                                                                      name),
                         "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                              "name": om["name"], "uid": om["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": spec}


def from_manifests(paths: Iterable[str | Path], *, children: bool = True) -> RecordedCluster:
    """A recorded cluster holding every object of the manifests (read with cnsec's own loader),
    plus what their controllers would create."""
    from cnsec.assess.inventory import load_inventory

    cluster = RecordedCluster()
    inv = load_inventory([str(p) for p in paths], workers=1)
    for res in inv.k8s:
        obj = cluster.add(res.doc)
        if children:
            cluster.add_children(obj)
    return cluster


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    authorization: str


class ApiServer:
    """The loopback server. ``forbidden``: resources (``"replicasets.apps"``, ``"pods"``) that answer
    403; ``slow``: resource → seconds to wait before answering each page; ``authorize``: an RBAC
    decision per list request (403 when it says no)."""

    def __init__(self, cluster: RecordedCluster, *, forbidden: Iterable[str] = (),
                 slow: dict[str, float] | None = None,
                 authorize: Callable[[str, str, str | None], bool] | None = None,
                 expire_once: Iterable[str] = ()) -> None:
        self.cluster = cluster
        self.expire_once = set(expire_once)  # resources whose first continue token has expired (410)
        self.authorize = authorize  # (group, resource, namespace) → may the caller list it?
        self.forbidden = set(forbidden)
        self.slow = dict(slow or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._by_path: dict[tuple[str, str, str], Res] = {
            (r.group, r.version, r.resource): r for r in cluster.objects}
        for kind, (g, v, rname, ns) in BUILTIN.items():
            self._by_path.setdefault((g, v, rname), Res(g, v, rname, kind, ns))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def kubeconfig(self, path: Path, context: str = "recorded") -> Path:
        """A kubeconfig whose ``context`` points at this server with its token."""
        doc = {"apiVersion": "v1", "kind": "Config", "current-context": context,
               "clusters": [{"name": "loopback", "cluster": {"server": self.url}}],
               "users": [{"name": "reader", "user": {"token": TOKEN}}],
               "contexts": [{"name": context, "context": {"cluster": "loopback", "user": "reader"}}]}
        path.write_text(json.dumps(doc), encoding="utf-8")
        return path

    # -- answers ----------------------------------------------------------------------------------
    def _discovery(self, path: str) -> Any:
        resources = list(self._by_path.values())
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            groups: dict[str, set[str]] = {}
            for r in resources:
                if r.group:
                    groups.setdefault(r.group, set()).add(r.version)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(vs)],
                 "preferredVersion": {"groupVersion": f"{g}/{sorted(vs)[-1]}", "version": sorted(vs)[-1]}}
                for g, vs in sorted(groups.items())]}
        parts = path.strip("/").split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        listed = [r for r in resources if r.group == group and r.version == version]
        if not listed:
            return None
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}".lstrip("/"),
                "resources": [{"name": r.resource, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                               "kind": r.kind, "verbs": VERBS} for r in sorted(listed, key=lambda r: r.resource)]
                + [{"name": f"{r.resource}/status", "singularName": "", "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": ["get", "patch", "update"]} for r in listed]}

    def _route(self, path: str) -> tuple[Res, str | None] | None:
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if len(rest) != 1:
            return None
        res = self._by_path.get((group, version, rest[0]))
        if res is None or (namespace is not None and not res.namespaced):
            return None
        return res, namespace

    def _list(self, res: Res, namespace: str | None, query: dict[str, str], partial: bool) -> tuple[int, Any]:
        items = self.cluster.objects.get(res, [])
        if namespace is not None:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        selector = query.get("fieldSelector", "")
        if selector.startswith("metadata.name="):
            items = [o for o in items if o["metadata"].get("name") == selector.split("=", 1)[1]]
        key = f"{res.resource}.{res.group}/{namespace or ''}/{selector}"
        start = 0
        token = query.get("continue")
        if token:
            try:
                got_key, start_s = base64.urlsafe_b64decode(token.encode()).decode().rsplit("|", 1)
                start = int(start_s)
            except ValueError:
                return 400, _status(400, "BadRequest", "continue key is not valid")
            if got_key != key:
                return 400, _status(400, "BadRequest", "continue key does not match the list")
            if start > len(items):
                return 410, _status(410, "Expired", "The provided continue parameter is too old")
        limit = int(query.get("limit") or 0) or len(items) or 1
        page = items[start:start + limit]
        rest = start + limit < len(items)
        meta: dict[str, Any] = {"resourceVersion": str(5000 + len(items))}
        if rest:
            meta["continue"] = base64.urlsafe_b64encode(f"{key}|{start + limit}".encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        if partial:
            return 200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                         "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                    "metadata": o["metadata"]} for o in page]}
        return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta,
                     "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]}

    def answer(self, method: str, target: str, accept: str, authorization: str) -> tuple[int, Any]:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query))
        with self._lock:
            self.requests.append(Request(method, split.path, query, accept, authorization))
        if authorization != f"Bearer {TOKEN}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if method != "GET":
            return 405, _status(405, "MethodNotAllowed", "this recorded cluster is read-only")
        parts = split.path.strip("/").split("/")
        if parts in (["api"], ["apis"]) or (parts[0] == "api" and len(parts) == 2) or \
                (parts[0] == "apis" and len(parts) == 3):
            doc = self._discovery(split.path)
            return (200, doc) if doc is not None else (404, _status(404, "NotFound", "the server could not find "
                                                                                      "the requested resource"))
        routed = self._route(split.path)
        if routed is None:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        res, namespace = routed
        name = f"{res.resource}.{res.group}" if res.group else res.resource
        if name in self.forbidden or (self.authorize is not None and
                                      not self.authorize(res.group, res.resource, namespace)):
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return 403, _status(403, "Forbidden",
                                f'{name} is forbidden: User "system:serviceaccount:cnsec:cnsec-reader" cannot '
                                f'list resource "{res.resource}" in API group "{res.group}" {scope}',
                                {"group": res.group, "kind": res.resource})
        if name in self.slow:
            time.sleep(self.slow[name])
        if "continue" in query and name in self.expire_once:
            with self._lock:
                self.expire_once.discard(name)
            return 410, _status(410, "Expired", "The provided continue parameter is too old to display a "
                                                "consistent list result. You can start a new list without "
                                                "the continue parameter.")
        partial = "as=PartialObjectMetadataList" in accept
        return self._list(res, namespace, query, partial)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # the client's method names are upper case
                self._reply()

            def do_POST(self) -> None:
                self._reply()

            def _reply(self) -> None:
                status, doc = server.answer(self.command, self.path, self.headers.get("Accept", ""),
                                            self.headers.get("Authorization", ""))
                body = orjson.dumps(doc)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": message, "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out
