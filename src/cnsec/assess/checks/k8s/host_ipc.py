from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-004",
    title="Host IPC namespace shared",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape", "data-breach"),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove hostIPC from the pod spec (or set it to false).",
    equivalents={"checkov": ("CKV_K8S_18",), "kubescape": ("C-0276",)},
)
def host_ipc(w: Workload, ctx: object) -> Iterator[Hit]:
    """With hostIPC the pod shares the node's System V IPC and POSIX shared memory: it can read and
    tamper with the memory segments and message queues of every other process on the host."""
    if w.pod.get("hostIPC") is True:
        path = w.pod_at("hostIPC")
        yield Hit("pod shares the host IPC namespace", path=path, patch=set_patch(w.res, path, False))
