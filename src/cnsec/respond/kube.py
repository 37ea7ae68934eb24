"""The Kubernetes API as the response actions need it, and nothing more.

Actions speak plain dicts (the same shape ``kubectl get -o json`` prints), so the manifests they show in
a dry run are byte for byte what ``--apply`` sends. :class:`KubernetesApi` is the real adapter (the official
``kubernetes`` client, current kubeconfig or in-cluster config); :class:`RecordingKubeApi` is an in-memory
API server double that records every call, for tests where no cluster exists.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from cnsec.errors import CnsecError

Obj = dict[str, Any]


class KubeError(CnsecError):
    """A Kubernetes API call failed (not found is not an error: reads return ``None``)."""

    exit_code = 1


class KubeApi(Protocol):
    """The calls the response actions make. ``namespace`` is ``None`` for cluster-scoped objects."""

    def read_network_policy(self, namespace: str, name: str) -> Obj | None: ...
    def create_network_policy(self, namespace: str, body: Obj) -> Obj: ...
    def replace_network_policy(self, namespace: str, name: str, body: Obj) -> Obj: ...
    def read_pod(self, namespace: str, name: str) -> Obj | None: ...
    def patch_pod_labels(self, namespace: str, name: str, labels: dict[str, str]) -> Obj: ...
    def read_service(self, namespace: str, name: str) -> Obj | None: ...
    def list_role_bindings(self, namespace: str | None) -> list[Obj]: ...
    def replace_role_binding(self, namespace: str | None, name: str, body: Obj) -> Obj: ...
    def delete_role_binding(self, namespace: str | None, name: str) -> None: ...


class KubernetesApi:
    """The real thing, through the official client. ``namespace=None`` on role bindings means the
    cluster-scoped ClusterRoleBindings."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 timeout: float = 15.0) -> None:
        self.timeout = timeout
        self._down: str | None = None  # set by the first connection failure: fail fast afterwards
        try:
            from kubernetes import client as _client
            from kubernetes import config as _config
        except ModuleNotFoundError:
            raise KubeError("the Kubernetes client is not installed: pip install 'cnsec[cluster]'") from None

        client: Any = _client
        config: Any = _config

        try:
            api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        except Exception as exc:  # no kubeconfig: maybe we run inside a pod
            try:
                config.load_incluster_config()
                api_client = client.ApiClient()
            except Exception:
                raise KubeError(f"cannot load a Kubernetes configuration: {exc}") from None
        self._client = api_client
        self._net: Any = client.NetworkingV1Api(api_client)
        self._core: Any = client.CoreV1Api(api_client)
        self._rbac: Any = client.RbacAuthorizationV1Api(api_client)

    def _dict(self, obj: Any) -> Obj:
        result: Obj = self._client.sanitize_for_serialization(obj)
        return result

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, missing_ok: bool = False) -> Any:
        from kubernetes.client.exceptions import ApiException

        if self._down is not None:
            raise KubeError(f"{what}: the Kubernetes API is unreachable ({self._down})")
        try:  # a response must not hang on a black-holed API server: every call has a timeout
            return fn(*args, _request_timeout=self.timeout)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise KubeError(f"{what}: HTTP {exc.status} {exc.reason}") from None
        except Exception as exc:  # connection refused, TLS, timeouts: do not wait again per change
            self._down = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise KubeError(f"{what}: {self._down}") from None

    def _read(self, what: str, fn: Callable[..., Any], namespace: str, name: str) -> Obj | None:
        obj = self._call(f"read {what} {namespace}/{name}", fn, name, namespace, missing_ok=True)
        return None if obj is None else self._dict(obj)

    def read_network_policy(self, namespace: str, name: str) -> Obj | None:
        return self._read("networkpolicy", self._net.read_namespaced_network_policy, namespace, name)

    def create_network_policy(self, namespace: str, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        return self._dict(self._call(f"create networkpolicy {namespace}/{name}",
                                     self._net.create_namespaced_network_policy, namespace, body))

    def replace_network_policy(self, namespace: str, name: str, body: Obj) -> Obj:
        return self._dict(self._call(
            f"replace networkpolicy {namespace}/{name}",
            self._net.replace_namespaced_network_policy, name, namespace, body))

    def read_pod(self, namespace: str, name: str) -> Obj | None:
        return self._read("pod", self._core.read_namespaced_pod, namespace, name)

    def patch_pod_labels(self, namespace: str, name: str, labels: dict[str, str]) -> Obj:
        patch = {"metadata": {"labels": labels}}
        return self._dict(self._call(f"label pod {namespace}/{name}",
                                     self._core.patch_namespaced_pod, name, namespace, patch))

    def read_service(self, namespace: str, name: str) -> Obj | None:
        return self._read("service", self._core.read_namespaced_service, namespace, name)

    def list_role_bindings(self, namespace: str | None) -> list[Obj]:
        if namespace is None:
            result = self._call("list clusterrolebindings", self._rbac.list_cluster_role_binding)
        elif namespace == "*":
            result = self._call("list rolebindings", self._rbac.list_role_binding_for_all_namespaces)
        else:
            result = self._call(f"list rolebindings in {namespace}",
                                self._rbac.list_namespaced_role_binding, namespace)
        items: list[Obj] = self._dict(result).get("items") or []
        return items

    def replace_role_binding(self, namespace: str | None, name: str, body: Obj) -> Obj:
        if namespace is None:
            return self._dict(self._call(f"replace clusterrolebinding {name}",
                                         self._rbac.replace_cluster_role_binding, name, body))
        return self._dict(self._call(
            f"replace rolebinding {namespace}/{name}",
            self._rbac.replace_namespaced_role_binding, name, namespace, body))

    def delete_role_binding(self, namespace: str | None, name: str) -> None:
        if namespace is None:
            self._call(f"delete clusterrolebinding {name}",
                       self._rbac.delete_cluster_role_binding, name, missing_ok=True)
        else:
            self._call(f"delete rolebinding {namespace}/{name}",
                       self._rbac.delete_namespaced_role_binding, name, namespace, missing_ok=True)


class RecordingKubeApi:
    """An in-memory API server double for tests: keeps objects, bumps ``resourceVersion``, refuses a
    create over an existing object and a replace with a stale version, and records every call in
    ``calls`` as ``(verb, kind, namespace, name)``. ``validate`` (e.g. a kubernetes-validate wrapper)
    sees every object written, like admission would."""

    def __init__(self, objects: list[Obj] | None = None,
                 validate: Callable[[Obj], None] | None = None) -> None:
        self.objects: dict[tuple[str, str | None, str], Obj] = {}
        self.calls: list[tuple[str, str, str | None, str]] = []
        self._validate = validate
        self._version = 0
        for obj in objects or []:
            self._store(copy.deepcopy(obj))

    # -- bookkeeping -------------------------------------------------------------------------------
    def _store(self, obj: Obj) -> Obj:
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._version)
        key = (obj["kind"], meta.get("namespace"), meta["name"])
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def _get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        obj = self.objects.get((kind, namespace, name))
        return None if obj is None else copy.deepcopy(obj)

    def writes(self) -> list[tuple[str, str, str | None, str]]:
        return [c for c in self.calls if c[0] not in ("read", "list")]

    def _write(self, verb: str, kind: str, namespace: str | None, name: str, body: Obj | None) -> Obj:
        self.calls.append((verb, kind, namespace, name))
        key = (kind, namespace, name)
        if body is not None:
            body = copy.deepcopy(body)
            body.setdefault("metadata", {})
            if namespace is not None:
                body["metadata"]["namespace"] = namespace
            if self._validate is not None:
                self._validate(body)
        if verb == "create":
            if key in self.objects:
                raise KubeError(f"create {kind} {namespace}/{name}: HTTP 409 AlreadyExists")
            assert body is not None
            return self._store(body)
        if key not in self.objects:
            raise KubeError(f"{verb} {kind} {namespace}/{name}: HTTP 404 NotFound")
        if verb in ("replace", "patch"):  # a patch arrives here already merged into the stored object
            assert body is not None
            current = self.objects[key]["metadata"].get("resourceVersion")
            sent = body["metadata"].get("resourceVersion")
            if sent is not None and sent != current:
                raise KubeError(f"replace {kind} {namespace}/{name}: HTTP 409 Conflict (stale version)")
            return self._store(body)
        if verb == "delete":
            del self.objects[key]
            return {}
        raise AssertionError(verb)

    # -- the KubeApi protocol ----------------------------------------------------------------------
    def read_network_policy(self, namespace: str, name: str) -> Obj | None:
        self.calls.append(("read", "NetworkPolicy", namespace, name))
        return self._get("NetworkPolicy", namespace, name)

    def create_network_policy(self, namespace: str, body: Obj) -> Obj:
        return self._write("create", "NetworkPolicy", namespace, body["metadata"]["name"], body)

    def replace_network_policy(self, namespace: str, name: str, body: Obj) -> Obj:
        return self._write("replace", "NetworkPolicy", namespace, name, body)

    def read_pod(self, namespace: str, name: str) -> Obj | None:
        self.calls.append(("read", "Pod", namespace, name))
        return self._get("Pod", namespace, name)

    def patch_pod_labels(self, namespace: str, name: str, labels: dict[str, str]) -> Obj:
        current = self._get("Pod", namespace, name)
        if current is None:
            self.calls.append(("patch", "Pod", namespace, name))
            raise KubeError(f"label pod {namespace}/{name}: HTTP 404 NotFound")
        current["metadata"].setdefault("labels", {}).update(labels)
        current["metadata"].pop("resourceVersion", None)
        return self._write("patch", "Pod", namespace, name, current)

    def read_service(self, namespace: str, name: str) -> Obj | None:
        self.calls.append(("read", "Service", namespace, name))
        return self._get("Service", namespace, name)

    def list_role_bindings(self, namespace: str | None) -> list[Obj]:
        kind = "ClusterRoleBinding" if namespace is None else "RoleBinding"
        self.calls.append(("list", kind, namespace, ""))
        items = sorted(self.objects.items(), key=lambda i: str(i[0]))
        return [copy.deepcopy(obj) for (k, ns, _), obj in items
                if k == kind and (namespace in (None, "*") or ns == namespace)]

    def replace_role_binding(self, namespace: str | None, name: str, body: Obj) -> Obj:
        kind = "ClusterRoleBinding" if namespace is None else "RoleBinding"
        return self._write("replace", kind, namespace, name, body)

    def delete_role_binding(self, namespace: str | None, name: str) -> None:
        """Like the real adapter: a binding already gone (deleted meanwhile) is not an error."""
        kind = "ClusterRoleBinding" if namespace is None else "RoleBinding"
        if (kind, namespace, name) not in self.objects:
            self.calls.append(("delete", kind, namespace, name))
            return
        self._write("delete", kind, namespace, name, None)
