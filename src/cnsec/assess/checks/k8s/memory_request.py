from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._resources import has_request, sized_containers
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

DEFAULT_MEMORY_REQUEST = "128Mi"


@check(
    id="CNSEC-K8S-021",
    title="Container without a memory request",
    severity=Severity.LOW,
    target="workload",
    threats=("denial-of-service",),
    control="CTRL-RESOURCE-LIMITS",
    remediation="Set resources.requests.memory on every container so the scheduler reserves what it needs.",
    equivalents={"checkov": ("CKV_K8S_12",), "kubescape": ("C-0269",)},
)
def memory_request(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a memory request the scheduler packs pods onto nodes that cannot hold them, and the pod
    is among the first evicted under memory pressure (BestEffort/Burstable QoS). Like Kubernetes (and
    unlike Checkov CKV_K8S_12) a container that sets only a memory limit passes: its request defaults
    to the limit."""
    for c in sized_containers(w.containers):
        if not has_request(c, "memory"):
            path = c.at("resources", "requests", "memory")
            yield Hit(f"container {c.name!r} has no memory request", path=path,
                      patch=set_patch(w.res, path, DEFAULT_MEMORY_REQUEST))
