from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import is_windows
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-011",
    title="Writable root filesystem",
    severity=Severity.LOW,
    target="workload",
    threats=("backdoor-persistence", "malicious-image"),
    control="CTRL-READONLY-FS",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the "
                "application must write (/tmp, caches).",
    equivalents={"checkov": ("CKV_K8S_22",), "kubescape": ("C-0017",)},
)
def writable_root_filesystem(w: Workload, ctx: object) -> Iterator[Hit]:
    """A writable root filesystem lets an intruder drop tools, replace binaries or plant a backdoor
    that lives as long as the container; a read-only one forces every write into declared volumes.
    The field exists only on containers, and only an explicit true passes."""
    if is_windows(w):
        return
    for c in w.containers:
        if c.security_context.get("readOnlyRootFilesystem") is True:
            continue
        path = c.at("securityContext", "readOnlyRootFilesystem")
        yield Hit(f"container {c.name!r} has a writable root filesystem", path=path,
                  patch=set_patch(w.res, path, True))
