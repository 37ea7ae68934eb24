from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

DASHBOARD = "kubernetes-dashboard"


@check(
    id="CNSEC-K8S-038",
    title="Kubernetes dashboard deployed",
    severity=Severity.LOW,
    target="workload",
    threats=("exposed-interface", "cluster-takeover"),
    control="CTRL-REMOVE-ADMIN-TOOLS",
    remediation="Remove the Kubernetes dashboard, or keep it internal behind authentication with a "
                "read-only service account.",
    equivalents={"checkov": ("CKV_K8S_33",)},
)
def dashboard(w: Workload, ctx: Any) -> Iterator[Hit]:
    """The dashboard is a web UI that acts on the cluster with its own service account: exposed, or
    bound to a powerful role, it has handed whole clusters to attackers (Tesla, 2018). It is found by
    its image (``kubernetes-dashboard``, ``kubernetesui/``), its pod labels (``app`` or ``k8s-app``
    = kubernetes-dashboard) or its service account name. Unlike Checkov, a container without an image
    is not reported by itself. Kubescape's C-0014 also reports subjects bound to the dashboard's role,
    an RBAC question this workload check does not answer, so it is not listed as an equivalent."""
    for c in w.containers:
        image = c.image
        if DASHBOARD in image or "kubernetesui" in image:
            yield Hit(f"container {c.name!r} runs the dashboard image {image!r}", path=c.at("image"))
            return
    labels = w.pod_labels
    for key in ("app", "k8s-app", "app.kubernetes.io/name"):
        if labels.get(key) == DASHBOARD:
            path = (*w.pod_path[:-1], "metadata", "labels", key) if w.kind != "Pod" \
                else ("metadata", "labels", key)
            yield Hit(f"{w.kind} {w.res.name!r} is labelled {key}={DASHBOARD}", path=path)
            return
    if w.pod.get("serviceAccountName") == DASHBOARD:
        yield Hit(f"{w.kind} {w.res.name!r} runs as the dashboard's service account",
                  path=w.pod_at("serviceAccountName"))
