from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._resources import has_limit, request_value, sized_containers
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

DEFAULT_CPU_LIMIT = "500m"


@check(
    id="CNSEC-K8S-060",
    title="Container without a CPU limit",
    severity=Severity.LOW,
    target="workload",
    threats=("resource-hijacking", "denial-of-service"),
    control="CTRL-RESOURCE-LIMITS",
    remediation="Set resources.limits.cpu on every container (or enforce one with a LimitRange).",
    equivalents={"checkov": ("CKV_K8S_11",), "kubescape": ("C-0270",)},
)
def cpu_limit(w: Workload, ctx: object) -> Iterator[Hit]:
    """A compromised container without a CPU limit can mine crypto-currency with every core of its node
    and slow down its neighbours. CPU is compressible (the kernel shares it by request), so this is
    rated lower than the missing memory limit (CNSEC-K8S-020), which is checked separately."""
    for c in sized_containers(w.containers):
        if not has_limit(c, "cpu"):
            path = c.at("resources", "limits", "cpu")
            value = request_value(c, "cpu") or DEFAULT_CPU_LIMIT
            yield Hit(f"container {c.name!r} has no CPU limit", path=path,
                      patch=set_patch(w.res, path, value))
