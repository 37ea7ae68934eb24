from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._resources import has_limit, request_value, sized_containers
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

DEFAULT_MEMORY_LIMIT = "256Mi"


@check(
    id="CNSEC-K8S-020",
    title="Container without a memory limit",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("denial-of-service", "resource-hijacking"),
    control="CTRL-RESOURCE-LIMITS",
    remediation="Set resources.limits.memory on every container (equal to its memory request is a good start).",
    equivalents={"checkov": ("CKV_K8S_13",), "kubescape": ("C-0271",)},
)
def memory_limit(w: Workload, ctx: object) -> Iterator[Hit]:
    """Memory is not compressible: a container without a memory limit can grow until the node runs
    out and the kernel kills its neighbours, so one leak or one attacker-controlled allocation (or a
    crypto-miner) takes down every pod on the node. Init containers count too; ephemeral debug
    containers cannot set resources and are skipped. CPU is a separate check (CNSEC-K8S-060)."""
    for c in sized_containers(w.containers):
        if not has_limit(c, "memory"):
            path = c.at("resources", "limits", "memory")
            value = request_value(c, "memory") or DEFAULT_MEMORY_LIMIT
            yield Hit(f"container {c.name!r} has no memory limit", path=path,
                      patch=set_patch(w.res, path, value))
