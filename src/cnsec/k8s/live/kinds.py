"""Which API resources the live reader lists, and how each becomes a manifest-shaped object.

The built-in resources are the ones an assessment or the RBAC resolution reads (workloads and their
pods, Services, Ingresses, NetworkPolicies, Namespaces with their Pod Security labels, service
accounts, roles and bindings, ConfigMaps, admission webhooks, storage objects that classify data);
high-volume kinds no check reads (Events, Endpoints, Leases, ControllerRevisions, Nodes) are not
listed. Custom resources (any API group that Kubernetes itself does not serve) are listed too and
kept as ``other`` assets: a few checks know some of them (Cilium policies, Istio, Gateway API).
"""

from __future__ import annotations

from dataclasses import dataclass

#: (API group, resource) of the built-in resources read. ``""`` is the core group.
BUILTIN_READ: frozenset[tuple[str, str]] = frozenset({
    ("", "pods"), ("", "services"), ("", "namespaces"), ("", "serviceaccounts"), ("", "configmaps"),
    ("", "secrets"), ("", "replicationcontrollers"), ("", "persistentvolumeclaims"),
    ("", "limitranges"), ("", "resourcequotas"),
    ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
    ("networking.k8s.io", "networkpolicies"), ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "ingressclasses"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("policy", "podsecuritypolicies"),
    ("storage.k8s.io", "storageclasses"),
})

#: API groups Kubernetes serves itself: a resource in any other group is a custom resource (or an
#: aggregated API such as metrics, listed here so that it is not read).
BUILTIN_GROUPS: frozenset[str] = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io", "coordination.k8s.io",
    "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io", "node.k8s.io",
    "scheduling.k8s.io", "storage.k8s.io", "resource.k8s.io", "internal.apiserver.k8s.io",
    "storagemigration.k8s.io", "metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io",
    "extensions",
})

#: Kinds whose objects are listed as metadata only (``PartialObjectMetadataList``): their data is
#: never asked for, so it is never received, held, or reported.
METADATA_ONLY: frozenset[tuple[str, str]] = frozenset({("", "secrets")})

#: Controller kinds whose pods (or ReplicaSets, Jobs) fold into them: one asset per controller, not
#: one per replica.
CONTROLLER_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                              "ReplicationController"})

#: Resources listed only once everything else is read, so that their owners' ids are known.
LATE = frozenset({("", "pods")})

#: The annotation ``kubectl apply`` keeps the whole last applied object in: for a Secret that is its
#: data in plain sight, so it is dropped from every object (and it doubles each object's size).
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

PARTIAL_METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@dataclass(frozen=True, slots=True)
class ApiResource:
    """One listable resource from discovery."""

    group: str
    version: str
    resource: str  # plural: pods
    kind: str  # Pod
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def metadata_only(self) -> bool:
        return (self.group, self.resource) in METADATA_ONLY

    @property
    def custom(self) -> bool:
        return self.group not in BUILTIN_GROUPS

    @property
    def display(self) -> str:
        """``replicasets.apps``, ``pods``: as the API server names a resource in its errors."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.resource}"
        return f"{base}/{self.resource}"
