from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import host_path_volumes, mounts_of, pointer
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

SOCKETS = frozenset({
    "docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "dockershim.sock", "podman.sock",
})
#: Directories whose mount exposes a runtime socket inside them.
SOCKET_DIRS = frozenset({
    "/var/run", "/run", "/var/run/docker", "/run/docker", "/var/run/containerd", "/run/containerd",
    "/var/run/crio", "/run/crio", "/run/k3s/containerd", "/var/run/cri-dockerd", "/run/podman",
})


def is_runtime_socket(path: str) -> bool:
    return posixpath.basename(path) in SOCKETS or path in SOCKET_DIRS


@check(
    id="CNSEC-K8S-016",
    title="Container runtime socket mounted",
    severity=Severity.CRITICAL,
    target="workload",
    threats=("container-escape", "cluster-takeover"),
    control="CTRL-NO-HOST-MOUNTS",
    remediation="Remove the hostPath volume of the Docker, containerd or CRI-O socket (and of "
                "/var/run); build images with a daemonless builder (Kaniko, BuildKit rootless) and "
                "read container metadata from the Kubernetes API instead.",
    equivalents={"checkov": ("CKV_K8S_27",), "kubescape": ("C-0074",)},
)
def runtime_socket_mounted(w: Workload, ctx: object) -> Iterator[Hit]:
    """Whoever talks to the container runtime's socket can start a privileged container with the
    node's root filesystem mounted: it is root on the node, readOnly or not. We catch the Docker,
    containerd, CRI-O, cri-dockerd and Podman sockets and the directories that hold them (/var/run,
    /run/containerd, ...); Checkov's CKV_K8S_27 only matches /var/run/docker.sock exactly, so we agree
    on its labels and flag more."""
    for i, volume, host in host_path_volumes(w):
        if not is_runtime_socket(host):
            continue
        patch: list[dict[str, Any]] = []
        for c in w.containers:
            for j, _ in sorted(mounts_of(c, volume), key=lambda m: -m[0]):
                patch.append({"op": "remove", "path": pointer(c.at("volumeMounts", j))})
        patch.append({"op": "remove", "path": pointer(w.pod_at("volumes", i))})
        yield Hit(f"volume {volume!r} mounts the container runtime socket {host}",
                  path=w.pod_at("volumes", i, "hostPath", "path"), patch=patch)
