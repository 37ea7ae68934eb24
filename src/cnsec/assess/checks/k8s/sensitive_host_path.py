from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import host_path_volumes, is_under, pointer
from cnsec.assess.checks.k8s.runtime_socket import is_runtime_socket
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

#: Host directories that hold the node's credentials, configuration, binaries or kernel interfaces.
SENSITIVE = (
    "/etc", "/root", "/home", "/proc", "/sys", "/dev", "/boot", "/lib", "/lib64", "/usr", "/bin",
    "/sbin", "/var/lib/kubelet", "/var/lib/docker", "/var/lib/containerd", "/var/lib/etcd",
    "/var/lib/rancher", "/var/log",
)

#: Public, read-mostly files that agents routinely mount (CA bundles, time zones, kernel modules for
#: kube-proxy); writing to them is still reported by CNSEC-K8S-014.
BENIGN = (
    "/etc/ssl/certs", "/etc/ca-certificates", "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates", "/etc/pki/ca-trust", "/etc/pki/tls/certs", "/etc/localtime",
    "/etc/timezone", "/usr/share/zoneinfo", "/lib/modules",
)


def is_sensitive(path: str) -> bool:
    """The root, a sensitive directory, anything below one, or a parent that contains one, except
    the public files in :data:`BENIGN`."""
    if any(is_under(path, b) for b in BENIGN):
        return False
    return path == "/" or any(is_under(path, s) or is_under(s, path) for s in SENSITIVE)


@check(
    id="CNSEC-K8S-015",
    title="Sensitive host path mounted",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape", "secret-access", "cluster-takeover"),
    control="CTRL-NO-HOST-MOUNTS",
    remediation="Do not mount the node's root, /etc, /proc, /sys, /dev, /var/lib/kubelet, container "
                "runtime directories or /var/log; use an emptyDir, a PVC, a projected volume or a "
                "dedicated agent API instead.",
)
def sensitive_host_path(w: Workload, ctx: object) -> Iterator[Hit]:
    """Mounting the node's root, /etc, /proc, /sys, /var/lib/kubelet or the runtime's state exposes
    the kubelet's credentials, every pod's secrets and service-account tokens, and kernel
    interfaces; even read-only it is an escape (/var/log symlink tricks, /proc/sys). Parents of
    those directories (/var, /var/lib) count too; public CA bundles, time zone files and
    /lib/modules do not (writing to them is CNSEC-K8S-014's). Container runtime sockets are CNSEC-K8S-016's and
    are not repeated here. Kubescape's C-0048 flags every hostPath, so it is not named as an
    equivalent; writable mounts of any host path are CNSEC-K8S-014."""
    for i, volume, host in host_path_volumes(w):
        if not is_sensitive(host) or is_runtime_socket(host):
            continue
        path = w.pod_at("volumes", i, "hostPath", "path")
        vol = w.pod_at("volumes", i)
        patch: list[dict[str, Any]] = [{"op": "remove", "path": pointer((*vol, "hostPath"))},
                 {"op": "add", "path": pointer((*vol, "emptyDir")), "value": {}}]
        yield Hit(f"volume {volume!r} mounts the sensitive host path {host}", path=path, patch=patch)
