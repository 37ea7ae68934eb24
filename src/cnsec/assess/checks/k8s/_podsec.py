"""Shared reading of pod and container security settings for the pod-security checks (no checks here).

Manifests in the wild carry nulls, strings where lists belong and lower-case capability names; these
helpers normalise that once so that every check treats odd input the same way and never raises.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from cnsec.assess.patches import pointer as json_pointer
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Container, Path, Workload


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def cap_name(value: Any) -> str:
    """A capability as Kubernetes compares it: upper case, without the ``CAP_`` prefix."""
    if not isinstance(value, str):
        return ""
    name = value.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


def capabilities(c: Container) -> dict[str, Any]:
    return as_dict(c.security_context.get("capabilities"))


def added_caps(c: Container) -> list[tuple[int, str]]:
    """(index, normalised name) of every capability the container adds."""
    return [(i, cap_name(v)) for i, v in enumerate(as_list(capabilities(c).get("add")))]


def dropped_caps(c: Container) -> set[str]:
    return {cap_name(v) for v in as_list(capabilities(c).get("drop"))}


def add_drop_patch(w: Workload, c: Container, cap: str) -> list[dict[str, Any]]:
    """Append ``cap`` to the container's drop list, creating the list where it is missing."""
    drop = capabilities(c).get("drop")
    if isinstance(drop, list):
        return [{"op": "add", "path": pointer(c.at("securityContext", "capabilities", "drop", "-")),
                 "value": cap}]
    return set_patch(w.res, c.at("securityContext", "capabilities", "drop"), [cap])


def pointer(path: Path) -> str:
    """The RFC 6901 JSON pointer of ``path``."""
    return json_pointer(path)


def set_fields(w: Workload, sc_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Set several keys of one securityContext in a patch that stays valid when applied in order."""
    sc = w.res.get(*sc_path)
    if not isinstance(sc, dict):
        return set_patch(w.res, sc_path, dict(values))
    ops: list[dict[str, Any]] = []
    for key, value in values.items():
        ops += set_patch(w.res, (*sc_path, key), value)
    return ops


def host_path_volumes(w: Workload) -> Iterator[tuple[int, str, str]]:
    """(index, volume name, normalised host path) of every hostPath volume of the pod."""
    for i, vol in enumerate(as_list(w.pod.get("volumes"))):
        if not isinstance(vol, dict):
            continue
        hp = vol.get("hostPath")
        if not isinstance(hp, dict):
            continue
        path = hp.get("path")
        if not isinstance(path, str) or not path.strip():
            continue
        yield i, str(vol.get("name", f"#{i}")), normalise_path(path)


def normalise_path(path: str) -> str:
    p = posixpath.normpath(path.strip())
    return "/" if p == "//" else p


def is_under(path: str, parent: str) -> bool:
    return path == parent or parent == "/" or path.startswith(parent.rstrip("/") + "/")


def mounts_of(c: Container, volume: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mount) of every volumeMount of ``c`` that mounts ``volume``."""
    for i, m in enumerate(as_list(c.spec.get("volumeMounts"))):
        if isinstance(m, dict) and m.get("name") == volume:
            yield i, m


def is_windows(w: Workload) -> bool:
    """Windows pods (spec.os.name: windows) have no Linux capabilities, seccomp, AppArmor, SELinux,
    no_new_privs, UIDs or read-only root filesystems; the Pod Security Standards exempt them from
    those controls, and so do the checks that read them."""
    name = as_dict(w.pod.get("os")).get("name")
    return isinstance(name, str) and name.strip().lower() == "windows"
