from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import as_dict, is_windows
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Container, Path, Workload
from cnsec.model.severity import Severity

CONFINED_TYPES = ("RuntimeDefault", "Localhost")
CONFINED_ANNOTATIONS = ("runtime/default", "docker/default", "localhost/")
POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def _type(sc: dict[str, Any]) -> Any:
    return as_dict(sc.get("seccompProfile")).get("type")


def _effective(w: Workload, c: Container, annotations: dict[str, Any]) -> tuple[Any, Path | None]:
    """The profile the kubelet applies and where it is set: container field, pod field, then the
    legacy container and pod annotations (fields win over annotations)."""
    for value, path in (
        (_type(c.security_context), c.at("securityContext", "seccompProfile", "type")),
        (_type(w.pod_security_context), w.pod_at("securityContext", "seccompProfile", "type")),
    ):
        if value is not None:
            return value, path
    for key in (CONTAINER_ANNOTATION + c.name, POD_ANNOTATION):
        value = annotations.get(key)
        if isinstance(value, str):
            return value, None
    return None, None


def _confined(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return value in CONFINED_TYPES or value.strip().startswith(CONFINED_ANNOTATIONS)


@check(
    id="CNSEC-K8S-012",
    title="No seccomp profile",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("container-escape",),
    control="CTRL-SECCOMP-LSM",
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault in the pod spec (or Localhost "
                "with a reviewed profile); never Unconfined.",
    equivalents={"checkov": ("CKV_K8S_31",), "kubescape": ("C-0210",)},
)
def no_seccomp_profile(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without a seccomp profile a container runs Unconfined and can call the ~40 syscalls the
    runtime's default profile blocks (keyctl, unshare, bpf, ...), which is where most kernel escape
    exploits start. A container passes with RuntimeDefault or Localhost, set on the container or
    the pod, or with the legacy seccomp annotations (runtime/default, docker/default, localhost/*).
    Checkov and Kubescape accept only RuntimeDefault, and Checkov lets a pod-level profile hide a
    container's Unconfined; we deliberately accept Localhost (the Pod Security Standard
    "restricted" does: a reviewed custom profile is usually stricter than the default), so we
    disagree with Kubescape's labels on its Localhost cases, and we check each container's
    effective profile."""
    if is_windows(w):
        return
    annotations = as_dict(w.template_metadata.get("annotations"))
    unset: list[str] = []
    for c in w.containers:
        value, path = _effective(w, c, annotations)
        if _confined(value):
            continue
        if value is None:
            unset.append(c.name)
            continue
        if path is None:
            path = w.pod_at("securityContext", "seccompProfile", "type")
        yield Hit(f"container {c.name!r} runs with seccomp profile {value!r}", path=path,
                  patch=set_patch(w.res, path, "RuntimeDefault"))
    if unset:
        path = w.pod_at("securityContext", "seccompProfile")
        names = ", ".join(repr(n) for n in unset)
        yield Hit(f"no seccomp profile for container(s) {names}", path=path,
                  patch=set_patch(w.res, path, {"type": "RuntimeDefault"}))
