from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import host_path_volumes, mounts_of
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-014",
    title="Writable hostPath mount",
    severity=Severity.HIGH,
    target="workload",
    threats=("container-escape", "backdoor-persistence", "data-tampering"),
    control="CTRL-NO-HOST-MOUNTS",
    remediation="Replace the hostPath volume with an emptyDir, a PVC or a projected volume; where the "
                "host path is truly needed, mount it with readOnly: true.",
    equivalents={"kubescape": ("C-0045",)},
)
def writable_host_path(w: Workload, ctx: object) -> Iterator[Hit]:
    """A container that can write to a directory of the node can plant files the host executes or
    trusts (cron jobs, kubelet config, static pod manifests, binaries), which is a direct escape;
    the write outlives the pod. Each volumeMount of a hostPath volume without readOnly: true is
    reported where the mount is declared."""
    for _, volume, host in host_path_volumes(w):
        for c in w.containers:
            for i, mount in mounts_of(c, volume):
                if mount.get("readOnly") is True:
                    continue
                path = c.at("volumeMounts", i, "readOnly")
                yield Hit(f"container {c.name!r} mounts host path {host} writable", path=path,
                          patch=set_patch(w.res, path, True))
