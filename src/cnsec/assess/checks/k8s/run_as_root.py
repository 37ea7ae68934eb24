from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import set_fields
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

#: The UID a fix proposes: non-root and above the range of host users (see CNSEC-K8S-007).
SAFE_UID = 10001


def _uid(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@check(
    id="CNSEC-K8S-006",
    title="Container may run as root",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("container-escape", "privilege-escalation"),
    control="CTRL-NON-ROOT",
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod or container "
                "level), and build the image with a numeric non-root USER.",
    equivalents={"checkov": ("CKV_K8S_23",), "kubescape": ("C-0013",)},
)
def run_as_root(w: Workload, ctx: object) -> Iterator[Hit]:
    """Root in a container is root on the node's kernel: any escape (a kernel bug, a writable host
    mount, a runtime CVE) lands as UID 0. A container is safe when its effective runAsNonRoot is
    true (the kubelet then refuses to start it as root) or its effective runAsUser is a UID above 0;
    container settings override the pod's. Unlike Checkov, init and ephemeral containers are checked
    too (they run with the same kernel). A pod whose spec is not a mapping (Checkov labels one such
    file failed) is rejected by the API server and is not assessed as a workload."""
    for c in w.containers:
        non_root = w.effective(c, "runAsNonRoot")
        uid = _uid(w.effective(c, "runAsUser"))
        if non_root is True or (uid is not None and uid > 0):
            continue
        if uid == 0:
            why = "runs as UID 0"
        elif non_root is False:
            why = "sets runAsNonRoot: false and no non-root runAsUser"
        else:
            why = "sets neither runAsNonRoot: true nor a non-root runAsUser"
        sc_path = c.at("securityContext")
        path = (*sc_path, "runAsUser") if "runAsUser" in c.security_context else (*sc_path, "runAsNonRoot")
        values: dict[str, Any] = {"runAsNonRoot": True}
        if uid is None or uid == 0:
            values["runAsUser"] = SAFE_UID
        yield Hit(f"container {c.name!r} may run as root: it {why}", path=path,
                  patch=set_fields(w, sc_path, values))
