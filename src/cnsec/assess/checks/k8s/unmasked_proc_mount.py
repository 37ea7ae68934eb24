from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import is_windows
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-018",
    title="Unmasked /proc",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape",),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove securityContext.procMount or set it to Default.",
)
def unmasked_proc_mount(w: Workload, ctx: object) -> Iterator[Hit]:
    """The runtime masks and makes read-only the dangerous parts of /proc (kcore, sysrq-trigger,
    /proc/sys, timer_list, ...). procMount: Unmasked removes that, handing the container kernel
    memory, the sysrq trigger and writable kernel parameters: an escape primitive. No Checkov or
    Kubescape control checks this alone (kube-linter's unsafe-proc-mount does)."""
    if is_windows(w):
        return
    for c in w.containers:
        value = c.security_context.get("procMount")
        if isinstance(value, str) and value.strip().lower() == "unmasked":
            path = c.at("securityContext", "procMount")
            yield Hit(f"container {c.name!r} mounts /proc unmasked", path=path,
                      patch=set_patch(w.res, path, "Default"))
