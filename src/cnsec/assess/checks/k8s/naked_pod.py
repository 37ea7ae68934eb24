from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import to_yaml
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


def as_deployment(res: K8sResource) -> str:
    """The pod wrapped in a Deployment with the same labels (``app: <name>`` when it has none)."""
    labels = dict(res.labels) or {"app": res.name}
    labels = {str(k): str(v) for k, v in labels.items()}
    metadata: dict[str, Any] = {"name": res.name}
    if res.namespace:
        metadata["namespace"] = res.namespace
    spec = res.doc.get("spec")
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec if isinstance(spec, dict) else {}},
        },
    }
    return to_yaml(doc)


@check(
    id="CNSEC-K8S-034",
    title="Naked pod (no controller)",
    severity=Severity.LOW,
    target="k8s",
    kinds=("Pod",),
    threats=("denial-of-service",),
    control="CTRL-MANAGED-WORKLOADS",
    remediation="Run the pod from a Deployment, StatefulSet, DaemonSet or Job so it is rescheduled and "
                "updated in a controlled way.",
    equivalents={"kubescape": ("C-0073",)},
)
def naked_pod(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A pod that no controller owns is not rescheduled when its node fails or is drained, cannot be
    rolled out or rolled back, and often is a hand-made debug pod left behind with more rights than it
    should have. Pods with ownerReferences and static control-plane pods (label
    ``tier: control-plane``) are not reported. The fix wraps the pod in a Deployment."""
    owners = res.metadata.get("ownerReferences")
    if isinstance(owners, list) and owners:
        return
    if res.labels.get("tier") == "control-plane":
        return
    yield Hit(f"Pod {res.name!r} is not managed by a controller", path=("kind",),
              fix=as_deployment(res))
