from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import as_list
from cnsec.assess.patches import remove_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

#: The sysctls Kubernetes considers safe (namespaced, isolated per pod): the kubelet allows them by
#: default and the Pod Security Standard "baseline" accepts them.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})


def _normalise(name: str) -> str:
    """sysctl names may use '/' as the separator (net/ipv4/tcp_syncookies)."""
    return name.strip().replace("/", ".")


@check(
    id="CNSEC-K8S-019",
    title="Unsafe sysctls",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("container-escape", "denial-of-service", "network-interception"),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove securityContext.sysctls entries outside the safe set (kernel.shm_rmid_forced, "
                "net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, ...); tune the node instead.",
)
def unsafe_sysctls(w: Workload, ctx: object) -> Iterator[Hit]:
    """A sysctl outside Kubernetes' safe set is either not namespaced (it changes the whole node:
    kernel.*, vm.*) or not isolated between pods, so a pod that sets it can weaken or starve the
    node and its neighbours (e.g. kernel.core_pattern runs a host command, net.ipv4.ip_forward
    turns the pod into a router). The names follow the Pod Security Standard "baseline" list;
    '/' separators are accepted. No Checkov or Kubescape control checks this alone."""
    for i, item in enumerate(as_list(w.pod_security_context.get("sysctls"))):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if not isinstance(name, str) or _normalise(name) in SAFE_SYSCTLS:
            continue
        path = w.pod_at("securityContext", "sysctls", i)
        yield Hit(f"pod sets the unsafe sysctl {name}", path=(*path, "name"), patch=remove_patch(path))
