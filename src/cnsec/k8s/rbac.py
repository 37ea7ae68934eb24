"""Offline Kubernetes RBAC: resolve roles and bindings to subjects as the API server's RBAC
authorizer does, answer ``can`` / ``who-can``, and audit risky grants.

The model is built from :class:`~cnsec.k8s.resource.K8sResource` objects, whoever read them (manifests,
``kubectl get … -o json`` dumps, a live cluster), so every role, binding and rule keeps its file:line.
Which grants are risky is :mod:`cnsec.k8s.rbac_risks`; the audit that reports them is the iam pillar's.

Authorizer semantics (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac):

* verbs, apiGroups: ``*`` or an exact match;
* resources: ``*``, an exact ``resource`` or ``resource/subresource`` match, or ``*/subresource``;
  ``pods`` does **not** cover ``pods/exec``;
* resourceNames: empty means all names, otherwise the request must name one of them;
* nonResourceURLs: ``*``, an exact path, or a ``prefix*``; only ClusterRoleBindings grant them;
* a RoleBinding grants its role's rules in its own namespace only (never cluster-scoped resources);
  a ClusterRoleBinding grants everywhere;
* aggregated ClusterRoles get the union of the rules of every ClusterRole their selectors match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import pod_spec_path
from cnsec.model.identity import Identity

RBAC_GROUP = "rbac.authorization.k8s.io"

#: The API group of well-known resources, for requests written as a bare resource name.
RESOURCE_GROUPS: dict[str, str] = {
    **dict.fromkeys(("pods", "services", "secrets", "configmaps", "serviceaccounts", "nodes", "namespaces",
                     "persistentvolumes", "persistentvolumeclaims", "events", "endpoints",
                     "replicationcontrollers", "limitranges", "resourcequotas", "podtemplates",
                     "bindings", "componentstatuses", "users", "groups"), ""),
    **dict.fromkeys(("deployments", "daemonsets", "statefulsets", "replicasets", "controllerrevisions"),
                    "apps"),
    **dict.fromkeys(("jobs", "cronjobs"), "batch"),
    **dict.fromkeys(("roles", "clusterroles", "rolebindings", "clusterrolebindings"), RBAC_GROUP),
    **dict.fromkeys(("mutatingwebhookconfigurations", "validatingwebhookconfigurations",
                     "validatingadmissionpolicies", "validatingadmissionpolicybindings"),
                    "admissionregistration.k8s.io"),
    **dict.fromkeys(("certificatesigningrequests", "signers"), "certificates.k8s.io"),
    **dict.fromkeys(("networkpolicies", "ingresses", "ingressclasses"), "networking.k8s.io"),
    **dict.fromkeys(("storageclasses", "csidrivers", "csinodes", "volumeattachments"), "storage.k8s.io"),
    "customresourcedefinitions": "apiextensions.k8s.io",
    "endpointslices": "discovery.k8s.io",
    "poddisruptionbudgets": "policy",
    "podsecuritypolicies": "policy",
    "horizontalpodautoscalers": "autoscaling",
    "leases": "coordination.k8s.io",
    "tokenreviews": "authentication.k8s.io",
    "subjectaccessreviews": "authorization.k8s.io",
    "priorityclasses": "scheduling.k8s.io",
    "runtimeclasses": "node.k8s.io",
    "apiservices": "apiregistration.k8s.io",
}

CLUSTER_SCOPED_RESOURCES = frozenset({
    "nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings",
    "certificatesigningrequests", "signers", "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings",
    "storageclasses", "csidrivers", "csinodes", "volumeattachments", "customresourcedefinitions",
    "priorityclasses", "runtimeclasses", "apiservices", "ingressclasses", "podsecuritypolicies",
    "tokenreviews", "subjectaccessreviews", "componentstatuses", "users", "groups",
})

PRIVILEGED_NAMESPACES = frozenset({"kube-system"})

#: ClusterRoles every cluster has; used when a binding refers to one the input does not define.
BUILTIN_CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
}


def strs(value: Any) -> tuple[str, ...]:
    """A rule field as a tuple of strings (a lone string is one; anything else in a list is left out)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int)))
    return ()


# ---------------------------------------------------------------------------------------------- model
@dataclass(frozen=True, slots=True)
class PolicyRule:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    resource_names: tuple[str, ...]
    non_resource_urls: tuple[str, ...]
    index: int  # position in the role's own rules (or in the role it was aggregated from)
    origin: str  # key of the role that declares it

    @classmethod
    def parse(cls, raw: Any, index: int, origin: str) -> PolicyRule | None:
        if not isinstance(raw, dict):
            return None
        return cls(strs(raw.get("verbs")), strs(raw.get("apiGroups")), strs(raw.get("resources")),
                   strs(raw.get("resourceNames")), strs(raw.get("nonResourceURLs")), index, origin)

    def describe(self) -> str:
        if self.non_resource_urls and not self.resources:
            return f"{','.join(self.verbs)} on {','.join(self.non_resource_urls)}"
        groups = ",".join(g or "core" for g in self.api_groups) or "core"
        names = f" named {','.join(self.resource_names)}" if self.resource_names else ""
        return f"{','.join(self.verbs)} on {','.join(self.resources)} ({groups}){names}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verbs": list(self.verbs)}
        if self.resources or not self.non_resource_urls:
            out["apiGroups"] = list(self.api_groups)
            out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        return out


@dataclass(frozen=True, slots=True)
class Request:
    """One API request: a resource request or (``path`` set) a non-resource URL."""

    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    name: str = ""
    namespace: str | None = None
    path: str = ""

    @property
    def cluster_scoped(self) -> bool:
        return bool(self.path) or self.resource in CLUSTER_SCOPED_RESOURCES

    def __str__(self) -> str:
        if self.path:
            return f"{self.verb} {self.path}"
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        grp = f".{self.api_group}" if self.api_group else ""
        nm = f" {self.name}" if self.name else ""
        return f"{self.verb} {res}{grp}{nm}"


def parse_request(verb: str, target: str, namespace: str | None = None, name: str = "") -> Request:
    """``pods/exec``, ``deployments.apps``, ``certificatesigningrequests/approval``, ``/metrics``."""
    target = target.strip()
    if target.startswith("/"):
        return Request(verb=verb, path=target)
    base, _, sub = target.partition("/")
    resource, _, group = base.partition(".")
    if not group:
        group = RESOURCE_GROUPS.get(resource, "")
    return Request(verb=verb, resource=resource, subresource=sub, api_group=group, name=name,
                   namespace=namespace)


def rule_allows(rule: PolicyRule, req: Request) -> bool:
    """The RBAC authorizer's ``RuleAllows``."""
    if "*" not in rule.verbs and req.verb not in rule.verbs:
        return False
    if req.path:
        for url in rule.non_resource_urls:
            if url == "*" or url == req.path or (url.endswith("*") and req.path.startswith(url[:-1])):
                return True
        return False
    if "*" not in rule.api_groups and req.api_group not in rule.api_groups:
        return False
    combined = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    ok = False
    for r in rule.resources:
        if r == "*" or r == combined or (req.subresource and r == "*/" + req.subresource):
            ok = True
            break
    if not ok:
        return False
    return not rule.resource_names or req.name in rule.resource_names


@dataclass(slots=True)
class RoleDef:
    kind: str  # Role | ClusterRole
    name: str
    namespace: str | None
    rules: list[PolicyRule]
    res: K8sResource | None = None
    labels: dict[str, str] = field(default_factory=dict)
    selectors: list[dict[str, Any]] = field(default_factory=list)  # aggregationRule.clusterRoleSelectors
    aggregated_from: list[str] = field(default_factory=list)
    builtin: bool = False

    @property
    def key(self) -> str:
        return f"Role/{self.namespace}/{self.name}" if self.kind == "Role" else f"ClusterRole/{self.name}"

    @property
    def source(self) -> str:
        return f"{self.res.file}:{self.res.line}" if self.res else "(built-in)"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str | None = None
    index: int = -1  # position in the binding's subjects

    @classmethod
    def parse(cls, raw: Any, binding_namespace: str | None, index: int = -1) -> Subject | None:
        """A binding's subject entry as the authorizer reads it: a ServiceAccount without a namespace is
        the binding's namespace's (``default`` for a ClusterRoleBinding, where the API requires one)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            return None
        kind = str(raw.get("kind") or "")
        ns = str(raw.get("namespace") or binding_namespace or "default") if kind == "ServiceAccount" else None
        return cls(kind, raw["name"], ns, index)

    def denotes(self, user: str) -> bool:
        """Whether this subject is the user named ``user`` itself: a User of that name, or the
        ServiceAccount whose username it is (``system:serviceaccount:NS:NAME``); groups are not."""
        return (self.kind == "User" and self.name == user) or (self.kind == "ServiceAccount"
                                                                and self.username == user)

    @property
    def identity(self) -> Identity:
        return Identity(self.kind, self.name, self.namespace)

    @property
    def username(self) -> str:
        if self.kind == "ServiceAccount":
            return f"system:serviceaccount:{self.namespace}:{self.name}"
        return self.name

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace}

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def is_system(self) -> bool:
        return self.name.startswith("system:") or (self.kind == "ServiceAccount"
                                                    and self.namespace == "kube-system")


@dataclass(slots=True)
class BindingDef:
    kind: str  # RoleBinding | ClusterRoleBinding
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    subjects: list[Subject]
    res: K8sResource | None = None

    @property
    def key(self) -> str:
        if self.kind == "RoleBinding":
            return f"RoleBinding/{self.namespace}/{self.name}"
        return f"ClusterRoleBinding/{self.name}"

    @property
    def role_key(self) -> str:
        if self.role_kind == "Role":
            return f"Role/{self.namespace}/{self.role_name}"
        return f"ClusterRole/{self.role_name}"

    @property
    def scope(self) -> str | None:
        """The namespace the grant is limited to; ``None`` for cluster-wide."""
        return self.namespace if self.kind == "RoleBinding" else None

    def line_of(self, subject: Subject) -> int:
        if self.res is None:
            return 0
        if subject.index >= 0:
            return self.res.line_at("subjects", subject.index)
        return self.res.line


@dataclass(frozen=True, slots=True)
class Grant:
    """``subject`` holds ``rule`` of ``role`` through ``binding`` (scope: namespace or cluster)."""

    subject: Subject
    binding: BindingDef
    role: RoleDef
    rule: PolicyRule

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject.to_dict(), "binding": self.binding.key, "role": self.role.key,
                "rule": self.rule.to_dict(), "scope": self.binding.scope or "cluster"}


def _label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    ml = selector.get("matchLabels")
    if isinstance(ml, dict):
        for k, v in ml.items():
            if labels.get(str(k)) != str(v):
                return False
    me = selector.get("matchExpressions")
    if isinstance(me, list):
        for expr in me:
            if not isinstance(expr, dict):
                return False
            key, op, values = str(expr.get("key")), expr.get("operator"), strs(expr.get("values"))
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
    return bool(ml) or bool(me)


def roledef_from_resource(res: K8sResource) -> RoleDef:
    kind = res.kind
    ns = res.effective_namespace if kind == "Role" else None
    key = f"Role/{ns}/{res.name}" if kind == "Role" else f"ClusterRole/{res.name}"
    raw_rules = res.get("rules")
    rules = [r for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else [])
             if (r := PolicyRule.parse(raw, i, key)) is not None]
    selectors: list[dict[str, Any]] = []
    agg = res.get("aggregationRule", "clusterRoleSelectors")
    if kind == "ClusterRole" and isinstance(agg, list):
        selectors = [s for s in agg if isinstance(s, dict)]
    labels = {str(k): str(v) for k, v in res.labels.items()}
    return RoleDef(kind, res.name, ns, rules, res, labels, selectors)


def bindingdef_from_resource(res: K8sResource) -> BindingDef | None:
    ref = res.get("roleRef")
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        return None
    role_kind = str(ref.get("kind") or "ClusterRole")
    ns = res.effective_namespace if res.kind == "RoleBinding" else None
    subjects: list[Subject] = []
    raw = res.get("subjects")
    for i, s in enumerate(raw if isinstance(raw, list) else []):
        subject = Subject.parse(s, ns, i)
        if subject is not None:
            subjects.append(subject)
    return BindingDef(res.kind, res.name, ns, role_kind, ref["name"], subjects, res)


class RbacModel:
    """Every role, binding, service account and pod-running workload in the input."""

    def __init__(self) -> None:
        self.roles: dict[str, RoleDef] = {}
        self.bindings: list[BindingDef] = []
        self.service_accounts: set[tuple[str, str]] = set()
        self.workload_sas: dict[tuple[str, str], list[K8sResource]] = {}  # pods that mount the SA token
        self.no_automount: set[tuple[str, str]] = set()  # SAs whose token is not mounted by default
        self.problems: list[str] = []
        self.resources = 0  # Kubernetes resources read (any kind): none, with input problems, is an input error
        self._allow_cache: dict[tuple[str, Request], PolicyRule | None] = {}

    @classmethod
    def from_resources(cls, items: Iterable[K8sResource]) -> RbacModel:
        model = cls()
        for res in items:
            model.resources += 1
            kind = res.kind
            if kind in ("Role", "ClusterRole") and str(res.api_version).startswith(RBAC_GROUP):
                rd = roledef_from_resource(res)
                model.roles.setdefault(rd.key, rd)
            elif kind in ("RoleBinding", "ClusterRoleBinding") and str(res.api_version).startswith(RBAC_GROUP):
                bd = bindingdef_from_resource(res)
                if bd is not None:
                    model.bindings.append(bd)
            elif kind == "ServiceAccount":
                sa_key = (res.effective_namespace or "default", res.name)
                model.service_accounts.add(sa_key)
                if res.get("automountServiceAccountToken") is False:
                    model.no_automount.add(sa_key)
            else:
                path = pod_spec_path(res)
                if path is not None:
                    spec = res.get(*path)
                    if isinstance(spec, dict) and spec.get("automountServiceAccountToken") is not False:
                        sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
                        ns = res.effective_namespace or "default"
                        model.workload_sas.setdefault((ns, str(sa)), []).append(res)
        for name, rules in BUILTIN_CLUSTER_ROLES.items():
            key = f"ClusterRole/{name}"
            if key not in model.roles:
                parsed = [r for i, raw in enumerate(rules) if (r := PolicyRule.parse(raw, i, key))]
                model.roles[key] = RoleDef("ClusterRole", name, None, parsed, builtin=True)
        model._aggregate()
        return model

    def _aggregate(self) -> None:
        """Fill aggregated ClusterRoles to a fixpoint, as the aggregation controller does."""
        aggregated = [r for r in self.roles.values() if r.selectors]
        if not aggregated:
            return
        cluster_roles = [r for r in self.roles.values() if r.kind == "ClusterRole"]
        for _ in range(len(aggregated) + 1):
            changed = False
            for role in aggregated:
                rules: list[PolicyRule] = []
                seen: set[PolicyRule] = set()  # membership in constant time: a dump can hold thousands
                sources: list[str] = []
                for other in cluster_roles:
                    if other is role:
                        continue
                    if any(_label_selector_matches(sel, other.labels) for sel in role.selectors):
                        sources.append(other.key)
                        for r in other.rules:
                            if r not in seen:
                                seen.add(r)
                                rules.append(r)
                if rules != role.rules:
                    role.rules, role.aggregated_from, changed = rules, sources, True
            if not changed:
                break

    def role_for(self, binding: BindingDef) -> RoleDef | None:
        return self.roles.get(binding.role_key)

    def _role_allows(self, role: RoleDef, req: Request) -> PolicyRule | None:
        key = (role.key, req)
        if key in self._allow_cache:
            return self._allow_cache[key]
        found = next((r for r in role.rules if rule_allows(r, req)), None)
        self._allow_cache[key] = found
        return found

    def _binding_applies(self, b: BindingDef, req: Request) -> bool:
        if b.kind == "ClusterRoleBinding":
            return True
        if req.cluster_scoped:
            return False
        return req.namespace is None or req.namespace == b.namespace

    def who_can(self, req: Request) -> list[Grant]:
        """Every (subject, binding, role, rule) that allows ``req``. ``req.namespace`` None: any namespace."""
        out: list[Grant] = []
        for b in self.bindings:
            if not self._binding_applies(b, req):
                continue
            role = self.role_for(b)
            if role is None:
                continue
            rule = self._role_allows(role, req)
            if rule is None:
                continue
            out.extend(Grant(s, b, role, rule) for s in b.subjects)
        return out

    def can(self, user: str, req: Request, groups: Sequence[str] = ()) -> Grant | None:
        """The first grant that lets ``user`` (with ``groups``) make ``req``, or ``None``."""
        all_groups = set(groups) | implicit_groups(user)
        for g in self.who_can(req):
            s = g.subject
            if s.denotes(user) or (s.kind == "Group" and s.name in all_groups):
                return g
        return None


def implicit_groups(user: str) -> set[str]:
    if user == "system:anonymous":
        return {"system:unauthenticated"}
    if user.startswith("system:serviceaccount:"):
        parts = user.split(":")
        ns = parts[2] if len(parts) == 4 else ""
        return {"system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"}
    return {"system:authenticated"}


def bindings_in(items: Iterable[K8sResource]) -> Iterator[tuple[K8sResource, BindingDef]]:
    for res in items:
        if res.kind in ("RoleBinding", "ClusterRoleBinding") and str(res.api_version).startswith(RBAC_GROUP):
            b = bindingdef_from_resource(res)
            if b is not None:
                yield res, b
