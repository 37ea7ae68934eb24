"""Read a live cluster into manifest-shaped :class:`K8sResource` objects, read-only.

Why the official ``kubernetes`` client and not lightkube: it is already cnsec's ``cluster`` extra
(``respond --apply`` uses it), it reads every kubeconfig a user has (exec plugins, OIDC, client
certificates, in-cluster service-account tokens) and is maintained by the Kubernetes project. Its
typed models are not used: each list page is fetched raw through the client's own request path
(authentication, TLS, proxy, timeouts) and parsed with orjson, because turning 20,000 objects into
typed models and back into manifests cost more than the whole assessment.

What the reader guarantees:

* **read-only**: only ``GET`` requests (discovery and ``list``), never ``watch``, never a write;
* **Secrets are never read**: they are listed as ``PartialObjectMetadataList`` (metadata only), the
  ``last-applied-configuration`` annotation (which can hold a Secret's data) is dropped from every
  object, and whatever else a server sends for a Secret besides its metadata is not kept;
* **bounded memory**: lists are paged (``limit``/``continue``); pods owned by a controller that was
  read fold into it as each page arrives (one asset per controller, not one per replica), so a
  cluster of 10,000 pods is held as its controllers plus its naked pods;
* **concurrent**: lists run on a thread pool; pods are listed once their owners are known;
* **never silent**: a list that is forbidden (403), missing, or too slow becomes a problem naming the
  resource and the verb, reported in every output format, and the rest of the cluster is read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from cnsec.errors import CnsecError
from cnsec.k8s.live.kinds import (
    BUILTIN_READ,
    CONTROLLER_KINDS,
    LAST_APPLIED,
    LATE,
    PARTIAL_METADATA_ACCEPT,
    ApiResource,
)
from cnsec.k8s.resource import K8sResource
from cnsec.model.finding import InputProblem

PAGE_SIZE = 500
TIMEOUT = 60.0
WORKERS = 8
JSON = "application/json"
MAX_MESSAGE = 300


class ClusterError(CnsecError):
    """The cluster cannot be reached or configured at all (exit 2)."""


class _Failure(Exception):
    """One request failed: HTTP status (0 for no response) and the server's or the transport's reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def cluster_uri(context: str, kind: str, name: str, namespace: str | None) -> str:
    """``cluster://<context>/<namespace>/<kind>/<name>`` (``cluster://<context>/<kind>/<name>`` for a
    cluster-scoped object). The context is percent-encoded: EKS contexts are ARNs with ``:`` and ``/``."""
    ctx = quote(context, safe="")
    if namespace:
        return f"cluster://{ctx}/{quote(namespace, safe='')}/{kind}/{quote(name, safe='')}"
    return f"cluster://{ctx}/{kind}/{quote(name, safe='')}"


@dataclass(slots=True)
class ClusterRead:
    """What was read: resources (controllers with their pods folded in), problems (forbidden, failed
    or too slow lists) and what was left out on purpose (``skipped``), with counts."""

    context: str
    server: str
    namespace: str | None = None
    resources: list[K8sResource] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    skipped: list[InputProblem] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    #: kinds whose list was read to the end (a drift comparison only trusts an absence among these)
    listed: set[str] = field(default_factory=set)

    @property
    def root(self) -> str:
        """The target as reports name it."""
        base = f"cluster://{quote(self.context, safe='')}"
        return f"{base}/{quote(self.namespace, safe='')}" if self.namespace else base


def connect(context: str | None = None, kubeconfig: str | None = None) -> tuple[Any, str]:
    """An ``ApiClient`` for ``context`` of the kubeconfig (the current one by default), or the pod's
    in-cluster configuration when there is no kubeconfig. Returns it with the context's name."""
    try:
        from kubernetes import client as _client
        from kubernetes import config as _config
    except ModuleNotFoundError:
        raise ClusterError("the Kubernetes client is not installed: pip install 'cnsec[cluster]'") from None
    client: Any = _client
    config: Any = _config
    cfg = client.Configuration()
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        names = [c.get("name") for c in contexts or ()]
        if context is not None and context not in names:
            raise ClusterError(f"no context {context!r} in the kubeconfig (contexts: {', '.join(map(str, names))})")
        name = context or str((active or {}).get("name") or "default")
        config.load_kube_config(config_file=kubeconfig, context=name, client_configuration=cfg)
    except ClusterError:
        raise
    except Exception as exc:  # no kubeconfig: maybe this runs in a pod
        if context is not None or kubeconfig is not None:
            raise ClusterError(f"cannot load the kubeconfig: {_short(str(exc))}") from None
        try:
            config.load_incluster_config(client_configuration=cfg)
        except Exception:
            raise ClusterError(f"no Kubernetes configuration: no kubeconfig ({_short(str(exc))}) and not "
                               f"running in a pod") from None
        name = "in-cluster"
    # a read that failed is reported, not retried three times: a slow resource must not cost 4x its timeout
    cfg.retries = False
    cfg.connection_pool_maxsize = max(WORKERS, 4)
    return client.ApiClient(cfg), name


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _status_message(body: bytes) -> str:
    """The ``message`` of a ``Status`` body, or the start of whatever the server sent."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _short(body[:MAX_MESSAGE].decode("utf-8", "replace"))
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return _short(data["message"])
    return ""


class _Reader:
    def __init__(self, api: Any, context: str, namespace: str | None, page_size: int, timeout: float,
                 workers: int) -> None:
        self.api = api
        self.context = context
        self.namespace = namespace
        self.page_size = page_size
        self.timeout = timeout
        self.workers = workers
        self.lock = threading.Lock()
        self.requests = 0
        self.server = str(getattr(getattr(api, "configuration", None), "host", "") or "")

    # -- one request --------------------------------------------------------------------------------
    def get(self, path: str, query: list[tuple[str, str]] | None = None, accept: str = JSON) -> Any:
        """GET ``path`` through the client (its auth, TLS and proxy); the parsed JSON body."""
        with self.lock:
            self.requests += 1
        try:
            method, url, headers, _, _ = self.api.param_serialize(
                "GET", path, query_params=query or None, header_params={"Accept": accept},
                auth_settings=["BearerToken"])
            resp = self.api.call_api(method, url, header_params=headers,
                                     _request_timeout=(min(self.timeout, 10.0), self.timeout))
            body = resp.read()
        except Exception as exc:  # timeouts, refused connections, TLS: the transport's reason
            reason = getattr(exc, "reason", None) or exc
            raise _Failure(0, _short(f"{type(reason).__name__}: {reason}")) from None
        if not 200 <= resp.status < 300:
            raise _Failure(resp.status, _status_message(body))
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Failure(resp.status, f"the response is not JSON ({exc})") from None

    # -- discovery ----------------------------------------------------------------------------------
    def discover(self, problems: list[InputProblem]) -> list[ApiResource]:
        """The listable resources to read, from the server's discovery documents."""
        try:
            core = self.get("/api/v1")
            groups = self.get("/apis")
        except _Failure as exc:
            if exc.status == 0:
                raise ClusterError(f"cannot reach the Kubernetes API at {self.server}: {exc.message}") from None
            raise ClusterError(f"discovery failed at {self.server} (HTTP {exc.status}): {exc.message}") from None
        wanted_groups = {g for g, _ in BUILTIN_READ}
        versions: list[str] = []
        for g in groups.get("groups") or ():
            name = str(g.get("name") or "")
            preferred = (g.get("preferredVersion") or {}).get("groupVersion")
            if preferred and (name in wanted_groups or ApiResource(name, "", "", "", False).custom):
                versions.append(str(preferred))
        out = self._resources("", "v1", core)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {gv: pool.submit(self.get, f"/apis/{gv}") for gv in versions}
        for gv, fut in futures.items():
            group, _, version = gv.rpartition("/")
            try:
                out += self._resources(group, version, fut.result())
            except _Failure as exc:
                problems.append(self._problem(f"discovery of API group {group!r} failed (HTTP {exc.status}): "
                                              f"{exc.message}; its resources are not assessed"))
        return out

    @staticmethod
    def _resources(group: str, version: str, doc: Any) -> list[ApiResource]:
        out = []
        for r in (doc or {}).get("resources") or ():
            name = str(r.get("name") or "")
            if not name or "/" in name or "list" not in (r.get("verbs") or ()):
                continue
            ar = ApiResource(group, version, name, str(r.get("kind") or ""), bool(r.get("namespaced")))
            if (group, name) in BUILTIN_READ or ar.custom:
                out.append(ar)
        return out

    def _problem(self, message: str) -> InputProblem:
        return InputProblem(f"cluster://{quote(self.context, safe='')}", None, message)

    # -- lists --------------------------------------------------------------------------------------
    def pages(self, ar: ApiResource, extra: list[tuple[str, str]] | None = None) -> Iterator[list[Any]]:
        """The items of a list, one page at a time. An expired ``continue`` token (HTTP 410: the list
        changed too much while being read) raises :class:`_Restart`: the caller reads it again."""
        accept = PARTIAL_METADATA_ACCEPT if ar.metadata_only else JSON
        path = ar.path(self.namespace)
        token = ""
        try:
            while True:
                query = [("limit", str(self.page_size)), *(extra or ())]
                if token:
                    query.append(("continue", token))
                page = self.get(path, query, accept)
                yield list(page.get("items") or ())
                token = str((page.get("metadata") or {}).get("continue") or "")
                if not token:
                    return
        except _Failure as exc:
            if exc.status == 410 and token:
                raise _Restart from None
            raise

    def describe_failure(self, ar: ApiResource, exc: _Failure) -> str:
        scope = f"in namespace {self.namespace!r}" if self.namespace and ar.namespaced else "at the cluster scope"
        group = ar.group or "core"
        if exc.status == 403:
            return (f"forbidden: cannot 'list' {ar.display} {scope} ({exc.message or 'no reason given'}); "
                    f"{ar.kind} objects are not assessed — grant verb 'list' on resource '{ar.resource}' in "
                    f"API group '{group}' (see deploy/cnsec-reader.yaml)")
        if exc.status == 0:
            return f"listing {ar.display} {scope} failed ({exc.message}); {ar.kind} objects are not assessed"
        return (f"listing {ar.display} {scope} failed with HTTP {exc.status} ({exc.message or 'no reason'}); "
                f"{ar.kind} objects are not assessed")

    def to_resource(self, item: Any, ar: ApiResource) -> K8sResource | None:
        if not isinstance(item, dict):
            return None
        meta = item.get("metadata")
        if not isinstance(meta, dict):
            return None
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict) and LAST_APPLIED in ann:
            del ann[LAST_APPLIED]
            if not ann:
                del meta["annotations"]
        if ar.metadata_only:  # whatever else a server sent, only the metadata is kept
            doc: dict[str, Any] = {"apiVersion": ar.api_version, "kind": ar.kind, "metadata": meta}
        else:
            doc = {"apiVersion": ar.api_version, "kind": ar.kind}
            for k, v in item.items():
                if k not in ("apiVersion", "kind"):
                    doc[k] = v
        name = str(meta.get("name") or "(unnamed)")
        ns = meta.get("namespace") if ar.namespaced else None
        ns = str(ns) if ns else None
        return K8sResource(kind=ar.kind, api_version=ar.api_version, name=name, namespace=ns, doc=doc,
                           file=cluster_uri(self.context, ar.kind, name, ns), line=0, end_line=0)


class _Restart(Exception):
    """The list's ``continue`` token expired: read it again from the start."""


def _controller(res: K8sResource) -> str | None:
    """The uid of the object's controller (its ``ownerReferences`` entry with ``controller: true``)."""
    owners = res.metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    for o in owners:
        if isinstance(o, dict) and o.get("controller") and o.get("uid"):
            return str(o["uid"])
    return None


def _owner(pod: K8sResource, owners: dict[str, K8sResource],
           deployments: dict[tuple[str | None, str], K8sResource]) -> K8sResource | None:
    """The asset a pod folds into: its controller's, by uid; or, when its ReplicaSet could not be
    read (a forbidden list), the Deployment that ReplicaSet is named after (``<deployment>-<hash>``,
    the hash being the pod's ``pod-template-hash`` label), as the deployment controller names it."""
    owner = owners.get(_controller(pod) or "")
    if owner is not None:
        return owner
    refs = pod.metadata.get("ownerReferences")
    ref = next((o for o in refs if isinstance(o, dict) and o.get("controller")), None) \
        if isinstance(refs, list) else None
    digest = pod.labels.get("pod-template-hash")
    if ref is None or ref.get("kind") != "ReplicaSet" or not isinstance(digest, str):
        return None
    name = str(ref.get("name") or "")
    if not name.endswith(f"-{digest}"):
        return None
    return deployments.get((pod.namespace, name[: -len(digest) - 1]))


def _uid(res: K8sResource) -> str | None:
    uid = res.metadata.get("uid")
    return str(uid) if uid else None


def read_cluster(api: Any, context: str, namespace: str | None = None, *, page_size: int = PAGE_SIZE,
                 timeout: float = TIMEOUT, workers: int = WORKERS,
                 on_progress: Callable[[str, int], None] | None = None) -> ClusterRead:
    """Read every resource an assessment needs from the cluster behind ``api``.

    ``namespace``: namespaced kinds of that namespace only; of the cluster-scoped kinds only the
    namespace itself and the ClusterRoles (RoleBindings refer to them) are read, and the others are
    reported as skipped. Raises :class:`ClusterError` when the API cannot be reached at all.
    """
    started = time.perf_counter()
    reader = _Reader(api, context, namespace, page_size, timeout, workers)
    out = ClusterRead(context=context, server=reader.server, namespace=namespace)
    resources = reader.discover(out.problems)
    if namespace is not None:
        kept: list[ApiResource] = []
        left: list[ApiResource] = []
        for ar in resources:
            (kept if ar.namespaced or ar.kind in ("Namespace", "ClusterRole") else left).append(ar)
        if left:
            out.skipped.append(reader._problem(
                f"namespace scope (-n {namespace}): cluster-scoped kinds other than Namespace and ClusterRole "
                f"are not read ({', '.join(sorted({a.kind for a in left}))})"))
        resources = kept
    counts: dict[str, int] = {}
    folded_pods = 0

    def list_one(ar: ApiResource, owners: dict[str, K8sResource] | None = None) -> tuple[list[K8sResource], int]:
        """Every object of one resource; with ``owners``, objects whose controller is one of them fold
        into it as each page arrives (only the count is kept)."""
        nonlocal folded_pods
        extra = [("fieldSelector", f"metadata.name={namespace}")] if namespace and ar.kind == "Namespace" else None
        for _ in range(2):
            got: list[K8sResource] = []
            into: dict[int, tuple[K8sResource, int]] = {}  # folded per owner; counted once the list is whole
            n = 0
            try:
                for items in reader.pages(ar, extra):
                    n += len(items)
                    for item in items:
                        res = reader.to_resource(item, ar)
                        if res is None:
                            continue
                        owner = _owner(res, owners, by_name) if owners is not None else None
                        if owner is None:
                            got.append(res)
                        else:
                            into[id(owner)] = (owner, into.get(id(owner), (owner, 0))[1] + 1)
                    if on_progress is not None:
                        on_progress(ar.kind, n)
            except _Restart:
                continue
            with reader.lock:
                for owner, count in into.values():
                    owner.extra["pods"] = owner.extra.get("pods", 0) + count
                    folded_pods += count
            return got, n
        raise _Failure(410, "the list changed too much while it was read (its continue token expired twice)")

    early = [ar for ar in resources if (ar.group, ar.resource) not in LATE]
    late = [ar for ar in resources if (ar.group, ar.resource) in LATE]
    results: list[tuple[ApiResource, list[K8sResource]]] = []
    received = 0

    unreadable_custom: list[str] = []

    def collect(futs: dict[Future[tuple[list[K8sResource], int]], ApiResource]) -> None:
        nonlocal received
        for fut, ar in futs.items():
            try:
                got, n = fut.result()
            except _Failure as exc:
                if exc.status == 403 and ar.metadata_only:  # the recommended reader role, on purpose
                    out.skipped.append(reader._problem(
                        f"{ar.kind} objects are not listed: the reader may not 'list' {ar.display} (the role in "
                        f"deploy/cnsec-reader.yaml grants no access to them on purpose; docs/cluster.md says "
                        f"what granting it costs)"))
                elif exc.status == 403 and ar.custom:
                    unreadable_custom.append(ar.display)
                else:
                    out.problems.append(reader._problem(reader.describe_failure(ar, exc)))
                continue
            received += n
            results.append((ar, got))
            out.listed.add(ar.kind)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        firsts = {pool.submit(list_one, ar): ar for ar in early if ar.kind in CONTROLLER_KINDS}
        others = {pool.submit(list_one, ar): ar for ar in early if ar.kind not in CONTROLLER_KINDS}
        wait(firsts)
        collect(firsts)
        owners = _fold_controllers(results)
        by_name = {(r.namespace, r.name): r for ar, got in results if ar.kind == "Deployment" for r in got}
        lates = {pool.submit(list_one, ar, owners): ar for ar in late}  # pods: their owners are known now
        wait(others)
        collect(others)
        wait(lates)
        collect(lates)
    if unreadable_custom:  # one line, not one per CRD: a cluster can have hundreds
        out.skipped.append(reader._problem(
            f"custom resources not listed (forbidden: the reader may not 'list' them; they are not assessed): "
            f"{', '.join(sorted(unreadable_custom))}"))
    folded = 0
    for ar, got in results:
        for res in got:
            if res.extra.get("folded"):
                folded += 1
                continue
            out.resources.append(res)
            counts[ar.kind] = counts.get(ar.kind, 0) + 1
    out.resources.sort(key=lambda r: (r.namespace or "", r.kind, r.name))
    out.problems.sort(key=lambda p: p.message)
    out.stats = {
        "context": context, "server": reader.server, "namespace": namespace,
        "objects_received": received, "objects": len(out.resources), "folded_pods": folded_pods,
        "folded_controllers": folded, "kinds": dict(sorted(counts.items())), "requests": reader.requests,
        "read_seconds": round(time.perf_counter() - started, 3),
    }
    return out


def _fold_controllers(results: list[tuple[ApiResource, list[K8sResource]]]) -> dict[str, K8sResource]:
    """Fold ReplicaSets into their Deployments and Jobs into their CronJobs (marked ``folded``);
    returns every controller's uid → the asset that stands for it (the Deployment for its
    ReplicaSets), which is where pods fold to."""
    by_uid: dict[str, K8sResource] = {}
    for ar, got in results:
        if ar.kind not in CONTROLLER_KINDS:
            continue
        for res in got:
            uid = _uid(res)
            if uid:
                by_uid[uid] = res
    owners: dict[str, K8sResource] = {}
    for uid, res in by_uid.items():
        target = res
        seen = 0
        while (parent := by_uid.get(_controller(target) or "")) is not None and seen < 4:
            target = parent
            seen += 1
        if target is not res:
            res.extra["folded"] = True
        owners[uid] = target
    return owners
