from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._probes import long_running, starter_probe
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-023",
    title="Container without a readiness probe",
    severity=Severity.INFO,
    target="workload",
    threats=("denial-of-service",),
    control="CTRL-PROBES",
    remediation="Add a readinessProbe so traffic reaches a pod only once it can serve it.",
    equivalents={"checkov": ("CKV_K8S_9",), "kubescape": ("C-0018",)},
)
def readiness_probe(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a readiness probe a Service sends traffic to pods that are still starting or are
    overloaded, so a rollout or a spike turns into errors for users (availability, info). Jobs,
    CronJobs, init and ephemeral containers are skipped."""
    for c in long_running(w):
        if c.spec.get("readinessProbe") is None:
            path = c.at("readinessProbe")
            probe = starter_probe(c)
            yield Hit(f"container {c.name!r} has no readiness probe", path=path,
                      patch=set_patch(w.res, path, probe) if probe else None)
