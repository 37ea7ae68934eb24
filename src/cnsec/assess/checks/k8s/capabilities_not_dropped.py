from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import add_drop_patch, dropped_caps, is_windows
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-009",
    title="Capabilities not dropped",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("container-escape", "privilege-escalation"),
    control="CTRL-DROP-CAPS",
    remediation="Set securityContext.capabilities.drop: [ALL] on every container and add back only "
                "what the process needs.",
    equivalents={"checkov": ("CKV_K8S_37",)},
)
def capabilities_not_dropped(w: Workload, ctx: object) -> Iterator[Hit]:
    """The runtime's default set still grants a dozen capabilities (CHOWN, DAC_OVERRIDE, FOWNER,
    SETUID, SETGID, NET_RAW, MKNOD, ...) that an attacker uses to widen a foothold. Dropping ALL and
    adding back what is needed is the only way to know what a container may do; the Pod Security
    Standard "restricted" requires it. Only an explicit ALL (any case) in the drop list passes."""
    if is_windows(w):
        return
    for c in w.containers:
        if "ALL" in dropped_caps(c):
            continue
        yield Hit(f"container {c.name!r} does not drop ALL capabilities",
                  path=c.at("securityContext", "capabilities", "drop"), patch=add_drop_patch(w, c, "ALL"))
