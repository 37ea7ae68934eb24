from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import WORKLOAD_KINDS, as_workload
from cnsec.model.severity import Severity


def _tiller_labels(labels: Any) -> str | None:
    if not isinstance(labels, dict):
        return None
    if labels.get("app") == "helm":
        return "app=helm"
    if labels.get("name") == "tiller":
        return "name=tiller"
    return None


@check(
    id="CNSEC-K8S-039",
    title="Tiller (Helm v2) deployed",
    severity=Severity.HIGH,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "Service"),
    threats=("cluster-takeover", "exposed-interface"),
    control="CTRL-REMOVE-ADMIN-TOOLS",
    remediation="Migrate to Helm 3 (no in-cluster component) and delete the Tiller Deployment and Service.",
    equivalents={"checkov": ("CKV_K8S_34", "CKV_K8S_44")},
)
def tiller(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Tiller, the server side of Helm v2, usually runs with cluster-admin and by default answers
    unauthenticated gRPC on port 44134 to any pod: anyone in the cluster can install a privileged
    chart and own it. Helm v2 is end-of-life. Found by the tiller image or the ``app: helm`` /
    ``name: tiller`` labels on a workload, and by a Service that selects (or is) Tiller. Checkov's
    CKV_K8S_45 (Tiller not listening on localhost) is narrower and not an equivalent: any Tiller is
    reported here."""
    if res.kind == "Service":
        why = _tiller_labels(res.get("spec", "selector"))
        if why:
            yield Hit(f"Service {res.name!r} selects Tiller pods ({why})", path=("spec", "selector"))
        elif _tiller_labels(res.labels):
            yield Hit(f"Service {res.name!r} is labelled as Tiller ({_tiller_labels(res.labels)})",
                      path=("metadata", "labels"))
        return
    w = as_workload(res)
    if w is None:
        return
    for c in w.containers:
        if "tiller" in c.image:
            yield Hit(f"container {c.name!r} runs the Tiller image {c.image!r}", path=c.at("image"))
            return
    for labels, path in ((res.labels, ("metadata", "labels")),
                         (w.pod_labels, (*w.pod_path[:-1], "metadata", "labels"))):
        why = _tiller_labels(labels)
        if why:
            yield Hit(f"{res.kind} {res.name!r} is labelled as Tiller ({why})", path=path)
            return
