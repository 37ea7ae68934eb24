from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import as_dict, is_windows
from cnsec.assess.patches import remove_patch, set_patch
from cnsec.k8s.workload import Container, Path, Workload
from cnsec.model.severity import Severity

APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
CONFINED_TYPES = ("RuntimeDefault", "Localhost")
CONFINED_ANNOTATIONS = ("runtime/default", "localhost/")
#: SELinux types that switch confinement off.
UNCONFINED_SELINUX = ("spc_t", "unconfined_t")


def _apparmor(w: Workload, c: Container, annotations: dict[str, Any]) -> tuple[Any, Path | None]:
    """The AppArmor profile the kubelet applies: container field, pod field, then the annotation."""
    for sc, at in ((c.security_context, c.at), (w.pod_security_context, w.pod_at)):
        value = as_dict(sc.get("appArmorProfile")).get("type")
        if value is not None:
            return value, at("securityContext", "appArmorProfile", "type")
    value = annotations.get(APPARMOR_ANNOTATION + c.name)
    return (value, None) if isinstance(value, str) else (None, None)


def _selinux(w: Workload, c: Container) -> bool:
    opts = w.effective(c, "seLinuxOptions")
    if not isinstance(opts, dict) or not any(isinstance(v, str) and v for v in opts.values()):
        return False
    return opts.get("type") not in UNCONFINED_SELINUX


def _confined(value: Any) -> bool:
    return isinstance(value, str) and (value in CONFINED_TYPES or value.strip().startswith(CONFINED_ANNOTATIONS))


@check(
    id="CNSEC-K8S-013",
    title="No AppArmor or SELinux confinement",
    severity=Severity.LOW,
    target="workload",
    threats=("container-escape",),
    control="CTRL-SECCOMP-LSM",
    remediation="Set securityContext.appArmorProfile.type: RuntimeDefault (Kubernetes >= 1.30; the "
                "container.apparmor.security.beta.kubernetes.io/<name> annotation before), or "
                "seLinuxOptions with a confining type on SELinux nodes.",
)
def no_apparmor_selinux(w: Workload, ctx: object) -> Iterator[Hit]:
    """A Linux security module is the last wall when a process breaks out of its namespaces: the
    runtime's AppArmor profile or an SELinux type denies writes to /proc and /sys, mounts and
    access to host files. A container passes with an AppArmor profile (RuntimeDefault, Localhost,
    or the runtime/default or localhost/* annotation) or with SELinux options whose type is not an
    unconfined one (spc_t, unconfined_t); an explicit Unconfined AppArmor profile fails. No peer
    check has these semantics (Kubescape's C-0055 also accepts seccomp or dropped capabilities), so
    no equivalent is named."""
    if is_windows(w):
        return
    annotations = as_dict(w.template_metadata.get("annotations"))
    unset: list[str] = []
    for c in w.containers:
        value, path = _apparmor(w, c, annotations)
        if _confined(value):
            continue
        if value is not None:
            patch: list[dict[str, Any]] = []
            if path is None:  # set by the annotation: drop it, the field replaces it
                meta = ("metadata",) if w.kind == "Pod" else (*w.pod_path[:-1], "metadata")
                path = (*meta, "annotations", APPARMOR_ANNOTATION + c.name)
                patch = remove_patch(path) + set_patch(
                    w.res, c.at("securityContext", "appArmorProfile", "type"), "RuntimeDefault")
            else:
                patch = set_patch(w.res, path, "RuntimeDefault")
            yield Hit(f"container {c.name!r} runs with AppArmor profile {value!r}", path=path, patch=patch)
            continue
        if not _selinux(w, c):
            unset.append(c.name)
    if unset:
        path = w.pod_at("securityContext", "appArmorProfile")
        names = ", ".join(repr(n) for n in unset)
        yield Hit(f"no AppArmor or SELinux profile for container(s) {names}", path=path,
                  patch=set_patch(w.res, path, {"type": "RuntimeDefault"}))
