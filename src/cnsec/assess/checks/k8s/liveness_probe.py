from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._probes import long_running, starter_probe
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-022",
    title="Container without a liveness probe",
    severity=Severity.INFO,
    target="workload",
    threats=("denial-of-service",),
    control="CTRL-PROBES",
    remediation="Add a livenessProbe (httpGet, tcpSocket, grpc or exec) so a hung container is restarted.",
    equivalents={"checkov": ("CKV_K8S_8",), "kubescape": ("C-0056",)},
)
def liveness_probe(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a liveness probe a deadlocked or exhausted process keeps its pod and keeps failing
    requests until someone notices: an availability problem more than a security one (info). Jobs,
    CronJobs, init and ephemeral containers are skipped: they finish or cannot have probes."""
    for c in long_running(w):
        if c.spec.get("livenessProbe") is None:
            path = c.at("livenessProbe")
            probe = starter_probe(c)
            yield Hit(f"container {c.name!r} has no liveness probe", path=path,
                      patch=set_patch(w.res, path, probe) if probe else None)
