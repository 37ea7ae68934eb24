from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._resources import has_request, sized_containers
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

DEFAULT_CPU_REQUEST = "100m"


@check(
    id="CNSEC-K8S-061",
    title="Container without a CPU request",
    severity=Severity.LOW,
    target="workload",
    threats=("denial-of-service",),
    control="CTRL-RESOURCE-LIMITS",
    remediation="Set resources.requests.cpu on every container so the scheduler reserves what it needs.",
    equivalents={"checkov": ("CKV_K8S_10",), "kubescape": ("C-0268",)},
)
def cpu_request(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a CPU request the pod gets almost no CPU share when the node is busy, so a noisy or
    compromised neighbour can starve it. Like Kubernetes (and unlike Checkov CKV_K8S_10) a container
    that sets only a CPU limit passes: its request defaults to the limit."""
    for c in sized_containers(w.containers):
        if not has_request(c, "cpu"):
            path = c.at("resources", "requests", "cpu")
            yield Hit(f"container {c.name!r} has no CPU request", path=path,
                      patch=set_patch(w.res, path, DEFAULT_CPU_REQUEST))
