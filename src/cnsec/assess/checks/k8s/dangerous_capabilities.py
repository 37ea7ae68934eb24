from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import added_caps, is_windows
from cnsec.assess.patches import remove_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

#: Capabilities that break container isolation or let a process take over the node or its network.
DANGEROUS = frozenset({
    "ALL", "SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "SYS_BOOT",
    "SYS_TIME", "SETPCAP", "MAC_ADMIN", "MAC_OVERRIDE", "DAC_READ_SEARCH", "BPF", "PERFMON",
})


@check(
    id="CNSEC-K8S-008",
    title="Dangerous capability added",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape", "privilege-escalation"),
    control="CTRL-DROP-CAPS",
    remediation="Remove SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, ALL and similar entries from "
                "securityContext.capabilities.add; grant only narrow capabilities such as "
                "NET_BIND_SERVICE.",
    equivalents={"checkov": ("CKV_K8S_39",), "kubescape": ("C-0046",)},
)
def dangerous_capability_added(w: Workload, ctx: object) -> Iterator[Hit]:
    """Capabilities such as SYS_ADMIN (mount, namespaces, BPF), SYS_MODULE (kernel modules),
    SYS_PTRACE (inject into processes), NET_ADMIN/NET_RAW (rewrite routes, spoof and sniff packets)
    or ALL hand a container most of root's power over the node. The list is Kubescape's insecure
    capabilities plus SYS_TIME and DAC_READ_SEARCH (the "shocker" escape). Checkov's CKV_K8S_39 only
    looks for SYS_ADMIN, and its CKV_K8S_25 flags any added capability (even NET_BIND_SERVICE), so
    only the former is named as an equivalent: we agree on SYS_ADMIN and flag more. A pod with no
    containers adds nothing and passes (Checkov labels one such file failed)."""
    if is_windows(w):
        return
    for c in w.containers:
        for i, cap in added_caps(c):
            if cap in DANGEROUS:
                path = c.at("securityContext", "capabilities", "add", i)
                yield Hit(f"container {c.name!r} adds capability {cap}", path=path,
                          patch=remove_patch(path))
