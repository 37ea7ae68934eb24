from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-003",
    title="Host PID namespace shared",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape", "secret-access"),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove hostPID from the pod spec (or set it to false).",
    equivalents={"checkov": ("CKV_K8S_17",), "kubescape": ("C-0275",)},
)
def host_pid(w: Workload, ctx: object) -> Iterator[Hit]:
    """With hostPID the pod sees every process on the node: it can read their environment and command
    lines (secrets included) and, with ptrace or root, inject into them and escape to the host."""
    if w.pod.get("hostPID") is True:
        path = w.pod_at("hostPID")
        yield Hit("pod shares the host PID namespace", path=path, patch=set_patch(w.res, path, False))
