from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity

#: Kinds an application puts in its namespace (the list Checkov CKV_K8S_21 checks).
NAMESPACED_APP_KINDS = (
    "Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job",
    "CronJob", "Service", "Secret", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Ingress",
)


def _suggested_namespace(res: K8sResource) -> str:
    labels = res.labels
    for key in ("app.kubernetes.io/part-of", "app.kubernetes.io/name", "app"):
        v = labels.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip().lower()
    return res.name.lower()


@check(
    id="CNSEC-K8S-032",
    title="Resource in the default namespace",
    severity=Severity.INFO,
    target="k8s",
    kinds=NAMESPACED_APP_KINDS,
    threats=("lateral-movement",),
    control="CTRL-NAMESPACES",
    remediation="Set metadata.namespace to a dedicated namespace for the application.",
    equivalents={"checkov": ("CKV_K8S_21",)},
)
def default_namespace(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Namespaces are the unit of RBAC, quotas, NetworkPolicies and Pod Security admission; everything
    dumped into ``default`` shares them, so one grant or one missing policy there covers unrelated
    applications. A manifest without a namespace lands in ``default`` unless the deploy tool sets one,
    so it is reported too (info). The cluster's own ``default`` ServiceAccount and ``kubernetes``
    Service are not reported."""
    ns = res.metadata.get("namespace")
    if ns not in (None, "", "default"):
        return
    if (res.kind == "ServiceAccount" and res.name == "default") or \
            (res.kind == "Service" and res.name == "kubernetes"):
        return
    path = ("metadata", "namespace")
    how = "is in the default namespace" if ns == "default" else "has no namespace, so it lands in default"
    yield Hit(f"{res.kind} {res.name!r} {how}", path=path,
              patch=set_patch(res, path, _suggested_namespace(res)))
