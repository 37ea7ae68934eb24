"""Terraform's ``kubernetes`` provider → the Kubernetes objects the manifest checks read.

Teams that run Kubernetes on a cloud often declare its objects in Terraform: ``kubernetes_deployment``,
``kubernetes_cluster_role_binding``, ``kubernetes_manifest``. The provider's schema is the API object
in snake_case, with every nested object a block (``spec { template { spec { container { … }}}}``)
and repeated blocks in the singular (``container``, ``port``, ``rule``). This module maps a resource
block, as the Terraform loader evaluated it (variables, locals, ``count``/``for_each`` instances and
``dynamic`` blocks expanded), to the very API object a manifest would hold, so one set of checks
judges both; and it maps each path of that object to the ``.tf`` line that wrote it.

Values Terraform knows only at plan time stay what the loader made them (``"${…}"`` strings) and are
recorded as unknown: :class:`TfDict` counts every read of one, and :class:`Unknowns` tells the engine
which findings depend on them, so that an unknown value is never reported as absent or insecure.

``helm_release`` blocks become :class:`HelmRelease` render requests. Nothing here imports the assess
pillar: the caller turns :class:`Converted` objects into its own resource type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cnsec.yamlsafe import LineDict

Path = tuple[str | int, ...]


class TfBlock(Protocol):
    """What this module needs of a Terraform resource (the assess loader's ``TfResource``)."""

    type: str
    name: str
    attrs: dict[str, Any]
    file: str
    line: int
    end_line: int
    unknown_blocks: frozenset[str]

    @property
    def address(self) -> str: ...


# -- the provider's resource types ----------------------------------------------------------------

_RBAC = "rbac.authorization.k8s.io/v1"
_ADMISSION = "admissionregistration.k8s.io"


def _both(name: str, kind: str, api: str, v1_api: str | None = None) -> dict[str, tuple[str, str]]:
    return {name: (kind, api), f"{name}_v1": (kind, v1_api or api)}


#: Resource type → (kind, apiVersion) of the object it creates; ``_v1`` names and the unversioned
#: ones (which the provider keeps for the older API versions where they differ).
KINDS: dict[str, tuple[str, str]] = {
    **_both("kubernetes_deployment", "Deployment", "apps/v1"),
    "kubernetes_daemonset": ("DaemonSet", "apps/v1"), "kubernetes_daemon_set_v1": ("DaemonSet", "apps/v1"),
    **_both("kubernetes_stateful_set", "StatefulSet", "apps/v1"),
    **_both("kubernetes_replication_controller", "ReplicationController", "v1"),
    **_both("kubernetes_pod", "Pod", "v1"),
    **_both("kubernetes_job", "Job", "batch/v1"),
    **_both("kubernetes_cron_job", "CronJob", "batch/v1beta1", "batch/v1"),
    **_both("kubernetes_role", "Role", _RBAC),
    **_both("kubernetes_role_binding", "RoleBinding", _RBAC),
    **_both("kubernetes_cluster_role", "ClusterRole", _RBAC),
    **_both("kubernetes_cluster_role_binding", "ClusterRoleBinding", _RBAC),
    **_both("kubernetes_service", "Service", "v1"),
    **_both("kubernetes_ingress", "Ingress", "networking.k8s.io/v1beta1", "networking.k8s.io/v1"),
    **_both("kubernetes_ingress_class", "IngressClass", "networking.k8s.io/v1"),
    **_both("kubernetes_network_policy", "NetworkPolicy", "networking.k8s.io/v1"),
    **_both("kubernetes_namespace", "Namespace", "v1"),
    **_both("kubernetes_service_account", "ServiceAccount", "v1"),
    **_both("kubernetes_default_service_account", "ServiceAccount", "v1"),
    **_both("kubernetes_secret", "Secret", "v1"),
    **_both("kubernetes_config_map", "ConfigMap", "v1"),
    "kubernetes_pod_security_policy": ("PodSecurityPolicy", "policy/v1beta1"),
    "kubernetes_pod_security_policy_v1beta1": ("PodSecurityPolicy", "policy/v1beta1"),
    **_both("kubernetes_validating_webhook_configuration", "ValidatingWebhookConfiguration",
            f"{_ADMISSION}/v1beta1", f"{_ADMISSION}/v1"),
    **_both("kubernetes_mutating_webhook_configuration", "MutatingWebhookConfiguration",
            f"{_ADMISSION}/v1beta1", f"{_ADMISSION}/v1"),
    **_both("kubernetes_persistent_volume_claim", "PersistentVolumeClaim", "v1"),
    **_both("kubernetes_persistent_volume", "PersistentVolume", "v1"),
    **_both("kubernetes_storage_class", "StorageClass", "storage.k8s.io/v1"),
    **_both("kubernetes_limit_range", "LimitRange", "v1"),
    **_both("kubernetes_resource_quota", "ResourceQuota", "v1"),
    **_both("kubernetes_priority_class", "PriorityClass", "scheduling.k8s.io/v1"),
    **_both("kubernetes_pod_disruption_budget", "PodDisruptionBudget", "policy/v1beta1", "policy/v1"),
    **_both("kubernetes_horizontal_pod_autoscaler", "HorizontalPodAutoscaler", "autoscaling/v1"),
    "kubernetes_horizontal_pod_autoscaler_v2": ("HorizontalPodAutoscaler", "autoscaling/v2"),
    "kubernetes_horizontal_pod_autoscaler_v2beta2": ("HorizontalPodAutoscaler", "autoscaling/v2beta2"),
    **_both("kubernetes_endpoints", "Endpoints", "v1"),
    "kubernetes_runtime_class_v1": ("RuntimeClass", "node.k8s.io/v1"),
    "kubernetes_endpoint_slice_v1": ("EndpointSlice", "discovery.k8s.io/v1"),
    **_both("kubernetes_api_service", "APIService", "apiregistration.k8s.io/v1"),
    **_both("kubernetes_csi_driver", "CSIDriver", "storage.k8s.io/v1beta1", "storage.k8s.io/v1"),
    **_both("kubernetes_certificate_signing_request", "CertificateSigningRequest", "certificates.k8s.io/v1beta1",
            "certificates.k8s.io/v1"),
}

#: Types that change an object made elsewhere (a label, an env var, a key of a ConfigMap) or ask the
#: cluster for something: no object of their own to assess.
PATCH_TYPES = frozenset({
    "kubernetes_labels", "kubernetes_annotations", "kubernetes_env", "kubernetes_config_map_v1_data",
    "kubernetes_secret_v1_data", "kubernetes_node_taint", "kubernetes_token_request_v1",
})

#: Top-level arguments that steer Terraform, not the object.
_TF_ONLY = frozenset({
    "timeouts", "wait_for_rollout", "wait_for_load_balancer", "wait_for_completion", "wait_for_default_secret",
    "wait_for_service_account_token", "depends_on", "provider", "lifecycle", "provisioner", "connection",
    "count", "for_each", "id", "field_manager", "computed_fields", "wait", "wait_for", "auto_approve",
})

# -- snake_case blocks → the API's camelCase fields -----------------------------------------------

#: Repeated blocks, named in the singular in HCL, that are lists in the API: block → API field.
_LISTS: dict[str, str] = {
    "container": "containers", "init_container": "initContainers", "env": "env", "env_from": "envFrom",
    "port": "ports", "volume": "volumes", "volume_mount": "volumeMounts", "volume_device": "volumeDevices",
    "toleration": "tolerations", "host_aliases": "hostAliases", "image_pull_secrets": "imagePullSecrets",
    "image_pull_secret": "imagePullSecrets", "readiness_gate": "readinessGates",
    "topology_spread_constraint": "topologySpreadConstraints", "match_expressions": "matchExpressions",
    "match_expression": "matchExpressions", "match_fields": "matchFields",
    "node_selector_term": "nodeSelectorTerms",
    "preferred_during_scheduling_ignored_during_execution": "preferredDuringSchedulingIgnoredDuringExecution",
    "required_during_scheduling_ignored_during_execution": "requiredDuringSchedulingIgnoredDuringExecution",
    "option": "options", "sysctl": "sysctls", "http_header": "httpHeaders", "items": "items",
    "rule": "rules", "subject": "subjects", "webhook": "webhooks", "ingress": "ingress", "egress": "egress",
    "from": "from", "to": "to", "ports": "ports", "path": "paths", "tls": "tls",
    "volume_claim_template": "volumeClaimTemplates", "host_ports": "hostPorts", "range": "ranges",
    "allowed_host_paths": "allowedHostPaths", "allowed_flex_volumes": "allowedFlexVolumes",
    "secret": "secrets", "cluster_role_selectors": "clusterRoleSelectors", "limit": "limits",
    "subset": "subsets", "address": "addresses", "not_ready_address": "notReadyAddresses",
    "sources": "sources", "metric": "metrics", "policy": "policies", "endpoint": "endpoints",
}
#: (parent block, block) pairs where a listed name is a single object in the API.
_SINGLE_IN = frozenset({
    ("service", "port"),  # an Ingress backend's service port
    ("volume", "secret"), ("sources", "secret"),  # a secret volume, a projected secret
    ("node_affinity", "required_during_scheduling_ignored_during_execution"),
    ("ephemeral", "volume_claim_template"),
})
#: Fields whose camelCase is not the mechanical one.
_NAMES = {
    "non_resource_urls": "nonResourceURLs", "external_ips": "externalIPs", "load_balancer_ip": "loadBalancerIP",
    "cluster_ip": "clusterIP", "cluster_ips": "clusterIPs", "host_ip": "hostIP", "host_pid": "hostPID",
    "host_ipc": "hostIPC", "downward_api": "downwardAPI", "ceph_fs": "cephfs", "client_ip": "clientIP",
    "pod_ip": "podIP", "target_wwns": "targetWWNs", "wwids": "wwids", "iscsi_interface": "iscsiInterface",
}
#: Numbers the provider takes as strings (``replicas = "2"``, ``run_as_user = "0"``, ports by number).
_INT_FIELDS = frozenset({"replicas", "runAsUser", "runAsGroup", "fsGroup", "port", "targetPort", "containerPort",
                         "hostPort", "nodePort", "number", "min", "max"})
_MODE_FIELDS = frozenset({"defaultMode", "mode"})  # octal strings: "0644"
_BOOL_FIELDS = frozenset({"privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot",
                          "hostNetwork", "hostPID", "hostIPC", "automountServiceAccountToken", "readOnly",
                          "shareProcessNamespace", "stdin", "tty", "immutable"})


def api_name(key: str) -> str:
    """``host_network`` → ``hostNetwork``; the provider's irregular names by :data:`_NAMES`."""
    known = _NAMES.get(key)
    if known is not None:
        return known
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


# -- unknown values -------------------------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    """An expression Terraform knows only at plan time (the loader's ``"${…}"``), anywhere inside."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return False


class Unknowns:
    """One converted object's unknown values: where they are, and how often a check read one."""

    __slots__ = ("paths", "reads")

    def __init__(self) -> None:
        self.reads = 0
        self.paths: list[Path] = []

    def under_unknown(self, path: Iterable[str | int]) -> bool:
        """Whether ``path`` is an unknown value or lies inside one."""
        p = tuple(path)
        return any(p[: len(u)] == u for u in self.paths if u)


#: Keys whose unknown value does not taint a check's verdict when read: they name things (an env
#: var, a Secret's key, a container) for the message. A check that compares a name with a bad one
#: (``cluster-admin``, ``default``) finds no match in an unknown name, which is the silent side; a
#: finding *at* an unknown name is still dropped by its path.
_IDENTIFIERS = frozenset({"name", "key"})


class TfDict(LineDict):
    """A mapping of a converted object: the ``.tf`` line of itself and of each key (as the YAML
    loader's :class:`LineDict` gives manifest lines), and which keys hold unknown values; reading one
    of those (but :data:`_IDENTIFIERS`) counts in the object's :class:`Unknowns`, so that a check's
    verdict built on an unknown value is recognised and dropped."""

    __slots__ = ("unknown", "unknowns")

    def __init__(self, unknowns: Unknowns) -> None:
        super().__init__()
        self.unknowns = unknowns
        self.unknown: set[str] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self.unknown and key not in _IDENTIFIERS:
            self.unknowns.reads += 1
        return dict.get(self, key, default)

    def __getitem__(self, key: Any) -> Any:
        if key in self.unknown and key not in _IDENTIFIERS:
            self.unknowns.reads += 1
        return dict.__getitem__(self, key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_tf_dict, (self.line, self.key_lines, self.unknowns, self.unknown), None, None,
                iter(dict.items(self)))


def _tf_dict(line: int, key_lines: dict[Any, int], unknowns: Unknowns, unknown: set[str]) -> TfDict:
    d = TfDict(unknowns)
    d.line = line
    d.key_lines = key_lines
    d.unknown = unknown
    return d


# -- where each block and attribute is written ----------------------------------------------------


class _Node:
    """A block (or a multi-line map) of the ``.tf`` text: its line, its attributes' and children's."""

    __slots__ = ("attrs", "blocks", "dynamic", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self.attrs: dict[str, int] = {}
        self.blocks: dict[str, list[_Node]] = {}
        self.dynamic: dict[str, _Node] = {}

    def made_by_dynamic(self, key: str) -> _Node | None:
        """Where the blocks a ``dynamic "key"`` block makes are written: its ``content``."""
        dyn = self.dynamic.get(key)
        if dyn is None:
            return None
        content = dyn.blocks.get("content")
        return content[0] if content else dyn


_OPEN = re.compile(r'^\s*(?:dynamic\s+"?([A-Za-z_][\w-]*)"?|([A-Za-z_][\w-]*))\s*\{')
_KEY = re.compile(r'^\s*(?:"([^"]{1,200})"|([A-Za-z_][\w./-]{0,200}))\s*(?:=(?!=)|:)\s*(.*)$')
_HEREDOC_START = re.compile(r"<<-?\s*([A-Za-z_]\w*)\s*$")


def _delta(text: str) -> int:
    """Brackets opened minus closed on a line, outside strings and comments."""
    depth = 0
    in_str = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "#" or text.startswith("//", i):
            break
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        i += 1
    return depth


def scan_lines(lines: list[str], start: int, end: int) -> _Node:
    """The block tree of the resource written on ``lines[start-1:end]`` (1-based, inclusive)."""
    root = _Node(start)
    #: open frames: (node or None for a list of objects, its owner and key for list items, depth at open)
    stack: list[tuple[_Node | None, _Node | None, str, int]] = [(root, None, "", 1)]
    depth = 1
    heredoc: str | None = None
    for i in range(start, min(end, len(lines))):
        text = lines[i]
        if heredoc is not None:
            if text.strip() == heredoc:
                heredoc = None
            continue
        stripped = text.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        line = i + 1
        node, owner, key, opened_at = stack[-1]
        delta = _delta(text)
        inside = depth == opened_at  # not inside a function call or a one-line value of this frame
        if inside and node is None and owner is not None and stripped.startswith("{"):
            item = _Node(line)
            owner.blocks.setdefault(key, []).append(item)
            if delta > 0:
                stack.append((item, None, "", depth + 1))
        elif inside and node is not None and (m := _OPEN.match(text)) is not None and "=" not in \
                text[: m.end()]:
            child = _Node(line)
            if m.group(1):
                node.dynamic[m.group(1)] = child
            else:
                node.blocks.setdefault(m.group(2), []).append(child)
            if delta > 0:
                stack.append((child, None, "", depth + 1))
            else:  # a one-line block: port { container_port = 80 }
                for am in re.finditer(r"([A-Za-z_][\w-]*)\s*=(?!=)", text[m.end():]):
                    child.attrs.setdefault(am.group(1), line)
        elif inside and node is not None and (m := _KEY.match(text)) is not None:
            name = m.group(1) or m.group(2)
            node.attrs.setdefault(name, line)
            rest = m.group(3).rstrip()
            hd = _HEREDOC_START.search(rest)
            if hd:
                heredoc = hd.group(1)
            elif delta > 0 and rest.endswith("{"):
                child = _Node(line)
                node.blocks.setdefault(name, []).append(child)
                stack.append((child, None, "", depth + 1))
            elif delta > 0 and rest.endswith("["):
                stack.append((None, node, name, depth + 1))
        depth += delta
        while len(stack) > 1 and depth < stack[-1][3]:
            stack.pop()
        if depth <= 0:
            break
    return root


# -- the conversion -------------------------------------------------------------------------------


@dataclass(slots=True)
class Converted:
    """One Kubernetes object made from a Terraform resource."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    doc: TfDict
    file: str
    line: int
    end_line: int
    address: str
    #: manifest path → the ``.tf`` line that wrote it
    lines: dict[Path, int] = field(default_factory=dict)
    unknowns: Unknowns = field(default_factory=Unknowns)


@dataclass(frozen=True, slots=True)
class HelmSet:
    """A ``set``/``set_sensitive`` block of a ``helm_release``: one value at a dotted path."""

    name: str
    value: Any
    type: str | None = None
    sensitive: bool = False

    @property
    def known(self) -> bool:
        """False for a value Terraform computes at plan time (left to the chart's default)."""
        return not is_unknown(self.value)


@dataclass(slots=True)
class HelmRelease:
    """A ``helm_release`` to render with its chart: what ``helm template`` needs.

    ``values`` are the ``values`` entries in the order Helm merges them (later wins): (the file to
    read, ``None``) for ``file("…")``, (the ``.tf`` file, the YAML) for literal YAML; what Terraform
    computes at plan time (a ``templatefile``, another resource's output) is listed in
    ``unknown_values`` and left out.
    """

    address: str
    file: str
    line: int
    name: str
    chart: str
    namespace: str | None = None
    repository: str | None = None
    version: str | None = None
    #: the chart's folder on disk; ``None`` for a chart from a repository (not fetched)
    chart_path: str | None = None
    values: list[tuple[str, str | None]] = field(default_factory=list)
    sets: list[HelmSet] = field(default_factory=list)
    unknown_values: list[str] = field(default_factory=list)

    @property
    def local(self) -> bool:
        return self.chart_path is not None

    @property
    def skip_reason(self) -> str:
        """Why its manifests are not assessed (reported as skipped in every output format)."""
        if self.chart_path is not None:
            return (f"helm_release rendering: chart {self.chart_path} (release {self.name!r}) is rendered by "
                    "assess with the release's values (cnsec.assess inventory)")
        if not self.chart or is_unknown(self.chart):
            return (f"helm_release rendering: chart {self.chart or '(none)'} is an expression Terraform computes; "
                    "not rendered, its manifests are not assessed")
        where = f" from repository {self.repository}" if self.repository else ""
        return (f"helm_release rendering: chart {self.chart}{where} is remote; not fetched, its manifests are "
                "not assessed")


@dataclass(slots=True)
class Result:
    """What :func:`convert` made of a list of Terraform resources."""

    objects: list[Converted] = field(default_factory=list)
    helm: list[HelmRelease] = field(default_factory=list)
    #: (file, line, why) of each resource left out: an unsupported type, an unknown manifest
    skipped: list[tuple[str, int, str]] = field(default_factory=list)
    #: the resources that are neither (other providers), in order
    rest: list[Any] = field(default_factory=list)


def handles(rtype: str) -> bool:
    """Whether :func:`convert` takes resources of this type (every ``kubernetes_*``, ``helm_release``)."""
    return rtype.startswith("kubernetes_") or rtype == "helm_release"


class _Walk:
    """One resource's conversion: values into :class:`TfDict`, lines and unknown paths recorded."""

    def __init__(self, out: Converted, unknown_blocks: frozenset[str]) -> None:
        self.out = out
        self.unknown_blocks = unknown_blocks

    def mark(self, d: TfDict, key: str, path: Path) -> None:
        d.unknown.add(key)
        self.out.unknowns.paths.append(path)

    def block(self, body: dict[str, Any], node: _Node | None, parent: str, path: Path, line: int,
              into: TfDict | None = None) -> TfDict:
        """A block body: snake_case keys to the API's, repeated blocks to lists (into ``into``, the
        object itself, for the resource's top level)."""
        top = into is not None
        d = into if into is not None else TfDict(self.out.unknowns)
        d.line = node.line if node is not None else line
        for key, value in body.items():
            if not isinstance(key, str) or (top and key in _TF_ONLY):
                continue
            if _is_blocks(value):
                listed = key in _LISTS and (parent, key) not in _SINGLE_IN
                api = _LISTS[key] if listed else api_name(key)
                nodes = node.blocks.get(key, []) if node is not None else []
                dyn = node.made_by_dynamic(key) if node is not None else None
                items: list[Any] = []
                for i, item in enumerate(value):
                    n = nodes[i] if i < len(nodes) else dyn
                    at = n.line if n is not None else d.line
                    items.append(self.block(item, n, key, (*path, api, i) if listed else (*path, api), at))
                first = nodes[0] if nodes else dyn
                d.key_lines[api] = first.line if first is not None else d.line
                d[api] = items if listed or len(items) != 1 else items[0]
                if key in self.unknown_blocks:  # a dynamic block whose number is unknown
                    self.mark(d, api, (*path, api))
            else:
                api = api_name(key)
                at = node.attrs.get(key, d.line) if node is not None else d.line
                d.key_lines[api] = at
                self.put(d, api, value, node.blocks.get(key, []) if node is not None else [], (*path, api), at)
            self.out.lines[(*path, api)] = d.key_lines[api]
        return d

    def put(self, d: TfDict, key: str, value: Any, nodes: list[_Node], path: Path, line: int) -> None:
        """An attribute value: maps keep their keys (labels, data), scalars get the API's type.
        ``nodes``: where a multi-line map (one node) or list of objects (one per item) is written."""
        if isinstance(value, dict):
            d[key] = self.mapping(value, nodes[0] if nodes else None, path, line)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            d[key] = [self.mapping(v, nodes[i] if i < len(nodes) else None, (*path, i), line)
                      if isinstance(v, dict) else v for i, v in enumerate(value)]
        else:
            d[key] = _scalar(key, value)
        if is_unknown(value if not isinstance(value, dict) else None):
            self.mark(d, key, path)

    def yaml(self, value: Any, path: Path, line: int) -> Any:
        """A document loaded from YAML written inside the ``.tf`` file (its lines already counted in
        the ``.tf`` file): mappings become :class:`TfDict`, ``${…}`` strings unknown."""
        if isinstance(value, dict):
            d = TfDict(self.out.unknowns)
            d.line = getattr(value, "line", 0) or line
            lines = getattr(value, "key_lines", {})
            for key, v in value.items():
                at = lines.get(key, d.line)
                d.key_lines[key] = at
                d[key] = self.yaml(v, (*path, str(key)), at)
                if is_unknown(v):
                    self.mark(d, str(key), (*path, str(key)))
                self.out.lines[(*path, str(key))] = at
            return d
        if isinstance(value, list):
            return [self.yaml(v, (*path, i), line) for i, v in enumerate(value)]
        return value

    def mapping(self, value: dict[str, Any], node: _Node | None, path: Path, line: int) -> TfDict:
        """A map attribute or an object literal (``kubernetes_manifest``): keys as written."""
        d = TfDict(self.out.unknowns)
        d.line = node.line if node is not None else line
        for key, v in value.items():
            k = str(key)
            at = node.attrs.get(k, d.line) if node is not None else d.line
            d.key_lines[k] = at
            child = node.blocks.get(k) if node is not None else None
            if isinstance(v, dict):
                d[k] = self.mapping(v, child[0] if child else None, (*path, k), at)
            elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
                d[k] = [self.mapping(x, child[i] if child and i < len(child) else None, (*path, k, i), at)
                        if isinstance(x, dict) else x for i, x in enumerate(v)]
            else:
                d[k] = v
                if is_unknown(v):
                    self.mark(d, k, (*path, k))
            self.out.lines[(*path, k)] = at
        return d


def _is_blocks(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _scalar(key: str, value: Any) -> Any:
    if isinstance(value, str) and "${" not in value:
        s = value.strip()
        if key in _INT_FIELDS and re.fullmatch(r"\d{1,9}", s):
            return int(s)
        if key in _MODE_FIELDS and re.fullmatch(r"0?[0-7]{3,4}", s):
            return int(s, 8)
        if key in _BOOL_FIELDS and s.lower() in ("true", "false"):
            return s.lower() == "true"
    if key == "supplementalGroups" and isinstance(value, list):
        return [int(v) if isinstance(v, str) and v.isdigit() else v for v in value]
    return value


def _rename(d: TfDict, old: str, new: str) -> None:
    d[new] = dict.pop(d, old)
    d.key_lines[new] = d.key_lines.pop(old, d.line)
    if old in d.unknown:
        d.unknown.discard(old)
        d.unknown.add(new)


#: Top-level fields the provider names differently from the API, by kind: the provider takes a
#: Secret's ``data`` in plain text (the API's ``stringData``) and its base64 in ``binary_data``.
_TOP_RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "Secret": (("data", "stringData"), ("binaryData", "data")),
}


def _adjust(out: Converted) -> None:
    """Where the provider's layout differs from the API object beyond names."""
    doc = out.doc
    renames = _TOP_RENAMES.get(out.kind, ())
    for old, new in renames:
        if old in doc:
            _rename(doc, old, new)
    if renames:
        table = dict(renames)

        def moved(p: Path) -> Path:
            return (table[p[0]], *p[1:]) if p and isinstance(p[0], str) and p[0] in table else p

        out.lines = {moved(p): n for p, n in out.lines.items()}
        out.unknowns.paths = [moved(p) for p in out.unknowns.paths]
    spec = dict.get(doc, "spec")
    if out.kind == "DaemonSet" and isinstance(spec, TfDict) and "strategy" in spec:
        _rename(spec, "strategy", "updateStrategy")
        out.lines = {(("spec", "updateStrategy", *p[2:]) if p[:2] == ("spec", "strategy") else p): n
                     for p, n in out.lines.items()}


def _object(r: TfBlock, kind: str, api: str, node: _Node) -> Converted:
    unknowns = Unknowns()
    doc = TfDict(unknowns)
    doc["apiVersion"] = api
    doc["kind"] = kind
    doc.key_lines.update({"apiVersion": r.line, "kind": r.line})
    out = Converted(kind=kind, api_version=api, name="", namespace=None, doc=doc, file=r.file,
                    line=r.line, end_line=r.end_line, address=r.address, unknowns=unknowns)
    _Walk(out, r.unknown_blocks).block(r.attrs, node, "", (), r.line, into=doc)
    doc.line = r.line
    _adjust(out)
    _name(out, r)
    if r.type.startswith("kubernetes_default_service_account") and not out.name:
        out.name = "default"
    return out


def _name(out: Converted, r: TfBlock) -> None:
    meta = dict.get(out.doc, "metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = dict.get(meta, "name") or dict.get(meta, "generateName")
    ns = dict.get(meta, "namespace")
    out.name = str(name) if name else ""
    out.namespace = str(ns) if ns else None


_YAMLDECODE_FILE = re.compile(
    r'^\$\{\s*yamldecode\(\s*file\(\s*"(?:\$\{path\.(?:module|root)\}/)?([^"$]+)"\s*\)\s*\)\s*\}$')


def _yamldecode_heredoc(value: str, line: int) -> Any:
    """``yamldecode(<<-EOT … EOT)``: the YAML document written in the heredoc, its lines counted in
    the ``.tf`` file (the heredoc's text starts on the line after ``line``); ``None`` otherwise."""
    head = "${yamldecode("
    if not (value.startswith(head) and value.endswith(")}")):
        return None
    inner = value[len(head):-2].strip()
    if len(inner) >= 2 and inner[0] == inner[-1] == '"':
        inner = inner[1:-1]
    body = _text_of(inner.strip())
    if body is None or inner.strip() == body:
        return None
    from cnsec.yamlsafe import load_documents

    try:
        for doc, _ in load_documents(body, line_offset=line):
            return doc if isinstance(doc, dict) else None
    except Exception:  # PyYAML raises many types; YAML that does not load stays an expression
        return None
    return None


def _manifest(r: TfBlock, node: _Node) -> Converted | str:
    """``kubernetes_manifest``: its ``manifest`` is the API object already, as an HCL object."""
    value = r.attrs.get("manifest")
    at = node.attrs.get("manifest", r.line)
    if isinstance(value, str):
        loaded = _yamldecode_heredoc(value, at)
        if loaded is not None:
            value = loaded
    if isinstance(value, str):
        m = _YAMLDECODE_FILE.match(value)
        if m:
            return (f"its manifest is read from {m.group(1)} (yamldecode of a file): that file is assessed as a "
                    "manifest where it lies in the assessed paths, not as this resource")
    if not isinstance(value, dict):
        return "its manifest is an expression Terraform computes (a variable, another resource); not assessed"
    kind, api = value.get("kind"), value.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str) or is_unknown(kind) or is_unknown(api):
        return "its manifest has no literal kind and apiVersion; not assessed"
    unknowns = Unknowns()
    out = Converted(kind=kind, api_version=api, name="", namespace=None, doc=TfDict(unknowns), file=r.file,
                    line=r.line, end_line=r.end_line, address=r.address, unknowns=unknowns)
    walk = _Walk(out, r.unknown_blocks)
    if isinstance(value, LineDict):  # YAML: its own lines
        made = walk.yaml(value, (), at)
        assert isinstance(made, TfDict)
        out.doc = made
    else:
        child = node.blocks.get("manifest")
        out.doc = walk.mapping(value, child[0] if child else None, (), at)
    _name(out, r)
    return out


def _text_of(raw: str) -> str | None:
    """Literal YAML of a ``values`` entry: a string, or a heredoc as python-hcl2 hands it over."""
    m = re.match(r"^<<-?\s*([A-Za-z_]\w*)\n(.*)\n\s*\1\s*$", raw.strip(), re.DOTALL)
    if m:
        body = m.group(2)
        if raw.strip().startswith("<<-"):
            import textwrap

            body = textwrap.dedent(body)
        return body
    return None if "${" in raw else raw


_FILE_CALL = re.compile(r'^\$\{\s*file\(\s*"(?:\$\{path\.(?:module|root)\}/)?([^"$]+)"\s*\)\s*\}$')
_PATH_MODULE = re.compile(r'^(?:\$\{path\.(?:module|root)\}/)(.+)$')


def local_chart_path(chart: str, repository: str | None, tf_file: str) -> str | None:
    """The chart folder a ``helm_release``'s ``chart`` names on disk (``./charts/app``,
    ``${path.module}/charts/app``), or ``None`` for a chart from a repository or an expression."""
    local = _PATH_MODULE.match(chart)
    candidate = local.group(1) if local else (chart if "${" not in chart else "")
    if not candidate or repository or candidate.startswith(("oci://", "http://", "https://")):
        return None
    path = os.path.normpath(os.path.join(os.path.dirname(tf_file), candidate))
    return path if os.path.isdir(path) or candidate.startswith(("./", "../", "/")) else None


_HELM_RELEASE = re.compile(r'^resource\s+"helm_release"\s+"[^"]*"\s*\{(.*?)(?=^resource\s|^data\s|^module\s|\Z)',
                           re.MULTILINE | re.DOTALL)
_CHART_ATTR = re.compile(r'^\s*chart\s*=\s*"([^"]+)"', re.MULTILINE)
_REPOSITORY_ATTR = re.compile(r'^\s*repository\s*=', re.MULTILINE)


def released_charts(text: str, tf_file: str) -> set[str]:
    """The local chart folders the ``helm_release`` blocks of one ``.tf`` text install (absolute), read
    from the text before the Terraform is parsed: so that a chart a release installs is rendered with the
    release's values only, not a second time with its defaults. A release this misses is rendered twice
    (never missed out)."""
    out = set()
    for block in _HELM_RELEASE.finditer(text):
        body = block.group(1)
        chart = _CHART_ATTR.search(body)
        if chart and not _REPOSITORY_ATTR.search(body):
            path = local_chart_path(chart.group(1), None, tf_file)
            if path is not None:
                out.add(os.path.abspath(path))
    return out


def _helm(r: TfBlock) -> HelmRelease:
    a = r.attrs
    folder = os.path.dirname(r.file)

    def text(key: str) -> str | None:
        v = a.get(key)
        return v if isinstance(v, str) and not is_unknown(v) else None

    chart = a.get("chart")
    chart_s = chart if isinstance(chart, str) else ""
    name = text("name") or r.name
    release = HelmRelease(address=r.address, file=r.file, line=r.line, name=name, chart=chart_s,
                                namespace=text("namespace"), repository=text("repository"),
                                version=text("version"))
    release.chart_path = local_chart_path(chart_s, release.repository, r.file)
    for raw in a.get("values") or []:
        if not isinstance(raw, str):
            continue
        fm = _FILE_CALL.match(raw)
        if fm:
            release.values.append((os.path.normpath(os.path.join(folder, fm.group(1))), None))
            continue
        body = _text_of(raw)
        if body is None:
            release.unknown_values.append(raw)
        else:
            release.values.append((r.file, body))
    for key, sensitive in (("set", False), ("set_sensitive", True), ("set_list", False)):
        for s in a.get(key) or []:
            if isinstance(s, dict) and isinstance(s.get("name"), str):
                release.sets.append(HelmSet(s["name"], s.get("value"), s.get("type"), sensitive))
    return release


def convert(resources: Iterable[Any], lines_of: Any) -> Result:
    """Split ``resources`` into Kubernetes objects, helm releases, skipped ones and the rest.

    ``lines_of(file)`` gives a file's lines (for the line of each attribute); resources of other
    providers are handed back untouched in :attr:`Result.rest`.
    """
    result = Result()
    scanned: dict[tuple[str, int, int], _Node] = {}  # a block's instances (count, for_each) share its text
    for r in resources:
        rtype = r.type
        if not handles(rtype) or getattr(r, "block", "resource") != "resource":
            result.rest.append(r)
            continue
        if rtype == "helm_release":
            result.helm.append(_helm(r))
            continue
        known = KINDS.get(rtype)
        if known is None and rtype != "kubernetes_manifest":
            why = ("changes an object made elsewhere" if rtype in PATCH_TYPES
                   else "is not converted to a Kubernetes object yet")
            result.skipped.append((r.file, r.line, f"{r.address}: {rtype} {why}; not assessed"))
            continue
        where = (r.file, r.line, r.end_line)
        node = scanned.get(where)
        if node is None:
            node = scanned[where] = scan_lines(lines_of(r.file), r.line, r.end_line)
        if known is None:
            made = _manifest(r, node)
            if isinstance(made, str):
                result.skipped.append((r.file, r.line, f"{r.address}: {made}"))
                continue
            result.objects.append(made)
            continue
        result.objects.append(_object(r, known[0], known[1], node))
    return result


# -- fixes in HCL ---------------------------------------------------------------------------------

#: API list field → the provider's repeated block (the first block name that maps to it).
_BLOCKS = {**{api: block for block, api in reversed(list(_LISTS.items()))},
           "ports": "port", "imagePullSecrets": "image_pull_secrets", "matchExpressions": "match_expressions"}
_SNAKE = {api: key for key, api in _NAMES.items()}
#: API fields that are maps in the provider (``limits = { cpu = "500m" }``), not blocks.
_MAP_FIELDS = frozenset({"labels", "annotations", "limits", "requests", "matchLabels", "nodeSelector", "data",
                         "stringData", "binaryData", "parameters"})


def _snake(api: str) -> str:
    return _SNAKE.get(api) or re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), api)


def _hcl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_hcl_key(k)} = {_hcl_value(v)}" for k, v in value.items()) + " }"
    return _hcl_str(str(value))


def _hcl_str(text: str) -> str:
    import json

    return json.dumps(text).replace("${", "$${")


def _hcl_key(key: Any) -> str:
    k = str(key)
    return k if re.fullmatch(r"[A-Za-z_][\w-]*", k) else _hcl_str(k)


def _hcl_set(field: str, value: Any, pad: str) -> list[str]:
    """``field`` (an API name) set to ``value``, as provider HCL at indentation ``pad``."""
    if isinstance(value, dict) and field not in _MAP_FIELDS:
        out = [f"{pad}{_snake(field)} {{"]
        for k, v in value.items():
            out += _hcl_set(str(k), v, pad + "  ")
        return [*out, f"{pad}}}"]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        block = _BLOCKS.get(field, _snake(field))
        return [line for v in value for line in _hcl_set(block, v, pad)] if field in _BLOCKS else \
            [f"{pad}{_snake(field)} = {_hcl_value(value)}"]
    return [f"{pad}{_snake(field)} = {_hcl_value(value)}"]


def hcl_fix(patch: list[dict[str, Any]], address: str) -> str | None:
    """A JSON patch of the converted object, said as the change to the Terraform resource block (the
    fix a user applies to the ``.tf`` file, not a ``kubectl patch`` that Terraform would revert).
    ``None`` for ``kubernetes_manifest``, whose manifest is spelled as the API object (the JSON patch
    reads as it is)."""
    if "kubernetes_manifest." in f".{address}":
        return None
    out = [f"# in {address}:"]
    for op in patch:
        path = [p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path", "")).split("/")[1:]]
        if not path:
            return None
        lines: list[str] = []
        pad = ""
        closing: list[str] = []
        i = 0
        while i < len(path) - 1:
            step = path[i]
            if i + 1 < len(path) - 1 and path[i + 1].isdigit():
                n = int(path[i + 1])
                block = _BLOCKS.get(step, _snake(step))
                lines.append(f"{pad}{block} {{  # {block} block #{n + 1}")
                i += 2
            else:
                lines.append(f"{pad}{_snake(step)} {{")
                i += 1
            closing.append(f"{pad}}}")
            pad += "  "
        last = path[-1]
        kind = op.get("op")
        if kind == "remove":
            lines.append(f"{pad}# remove {_snake(last)}")
        elif last == "-" and len(path) >= 2:
            lines[-1:] = []
            closing.pop()
            pad = pad[:-2]
            lines.append(f"{pad}{_snake(path[-2])} = [..., {_hcl_value(op.get('value'))}]  # add to the list")
        elif kind in ("add", "replace"):
            lines += _hcl_set(last, op.get("value"), pad)
        else:
            return None
        out += lines + closing[::-1]
    return "\n".join(out)
