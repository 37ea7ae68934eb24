from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import is_windows
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

MIN_UID = 10000
SAFE_UID = 10001


def _uid(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@check(
    id="CNSEC-K8S-007",
    title="Container runs with a low UID",
    severity=Severity.LOW,
    target="workload",
    threats=("container-escape",),
    control="CTRL-NON-ROOT",
    remediation=f"Set securityContext.runAsUser to a UID >= {MIN_UID} (pod or container level), or run "
                "the pod in its own user namespace (hostUsers: false).",
    equivalents={"checkov": ("CKV_K8S_40",)},
)
def low_uid(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a user namespace a container UID is a host UID: a UID below 10000 may belong to a real
    user or daemon on the node, whose files an escaped process could then read and write. A missing
    runAsUser fails too, since the image's USER is unknown here. A pod with hostUsers: false runs in
    its own user namespace, where container UIDs never map to host users, so it passes. Unlike
    Checkov, init and ephemeral containers are checked too."""
    if is_windows(w):
        return
    if w.pod.get("hostUsers") is False:
        return
    inherited: list[str] = []
    for c in w.containers:
        raw = w.effective(c, "runAsUser")
        uid = _uid(raw)
        if uid is not None and uid >= MIN_UID:
            continue
        if c.security_context.get("runAsUser") is None and w.pod_security_context.get("runAsUser") is not None:
            inherited.append(c.name)
            continue
        path = c.at("securityContext", "runAsUser")
        yield Hit(f"container {c.name!r} {_why(raw)}", path=path, patch=set_patch(w.res, path, SAFE_UID))
    if inherited:
        path = w.pod_at("securityContext", "runAsUser")
        names = ", ".join(repr(n) for n in inherited)
        yield Hit(f"pod {_why(w.pod_security_context.get('runAsUser'))}, inherited by container(s) {names}",
                  path=path, patch=set_patch(w.res, path, SAFE_UID))


def _why(raw: Any) -> str:
    uid = _uid(raw)
    if uid is not None:
        return f"runs as UID {uid}, below {MIN_UID}"
    if raw is not None:
        return f"has an invalid runAsUser {raw!r}"
    return f"sets no runAsUser (the image's user applies; want >= {MIN_UID})"
