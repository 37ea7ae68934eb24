from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import is_windows
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-002",
    title="Privilege escalation allowed",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("privilege-escalation", "container-escape"),
    control="CTRL-NO-PRIV-ESC",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container (init and "
                "ephemeral containers too).",
    equivalents={"checkov": ("CKV_K8S_20",), "kubescape": ("C-0016",)},
)
def privilege_escalation_allowed(w: Workload, ctx: object) -> Iterator[Hit]:
    """Unless allowPrivilegeEscalation is false, the kernel's no_new_privs flag is off and a setuid
    binary or file capability in the image lifts a compromised process to root or to extra
    capabilities. Kubernetes defaults it to true, so only an explicit false passes; the field exists
    only on containers, so the pod securityContext cannot set it."""
    if is_windows(w):
        return
    for c in w.containers:
        value = c.security_context.get("allowPrivilegeEscalation")
        if value is False:
            continue
        path = c.at("securityContext", "allowPrivilegeEscalation")
        why = "allows" if value is True else "does not forbid"
        yield Hit(f"container {c.name!r} {why} privilege escalation", path=path,
                  patch=set_patch(w.res, path, False))
