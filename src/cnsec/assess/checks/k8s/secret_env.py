from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import remove_patch, set_patch
from cnsec.k8s.workload import Container, Path, Workload
from cnsec.model.severity import Severity

MOUNT_ROOT = "/etc/secrets"


def _append(w: Workload, list_path: Path, item: dict[str, Any]) -> list[dict[str, Any]]:
    return set_patch(w.res, (*list_path, "-"), item)


def _as_file_patch(w: Workload, c: Container, entry_path: Path, secret: str) -> list[dict[str, Any]]:
    """Remove the env entry and mount the Secret read-only as files instead."""
    vol = f"secret-{secret}"[:63].rstrip("-.")
    ops = remove_patch(entry_path)
    volumes = w.pod.get("volumes")
    has_volume = isinstance(volumes, list) and any(isinstance(v, dict) and v.get("name") == vol
                                                    for v in volumes)
    if not has_volume:
        ops += _append(w, w.pod_at("volumes"), {"name": vol, "secret": {"secretName": secret}})
    mounts = c.spec.get("volumeMounts")
    if not (isinstance(mounts, list) and any(isinstance(m, dict) and m.get("name") == vol for m in mounts)):
        ops += _append(w, c.at("volumeMounts"),
                       {"name": vol, "mountPath": f"{MOUNT_ROOT}/{secret}", "readOnly": True})
    return ops


@check(
    id="CNSEC-K8S-028",
    title="Secret exposed as an environment variable",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    remediation="Mount the Secret as a read-only volume and read it from the file instead of "
                "env[].valueFrom.secretKeyRef or envFrom[].secretRef.",
    equivalents={"checkov": ("CKV_K8S_35",), "kubescape": ("C-0207",)},
)
def secret_env(w: Workload, ctx: object) -> Iterator[Hit]:
    """Environment variables leak: they are inherited by every child process, dumped in crash reports
    and debug endpoints, visible in /proc/<pid>/environ to anything sharing the PID namespace and in
    ``kubectl describe``-style tooling, and they cannot be rotated without a restart. Secrets mounted
    as files have none of these problems. Init containers count too."""
    for c in w.containers:
        env = c.spec.get("env")
        if isinstance(env, list):
            for i, e in enumerate(env):
                vf = e.get("valueFrom") if isinstance(e, dict) else None
                ref = vf.get("secretKeyRef") if isinstance(vf, dict) else None
                if isinstance(ref, dict):
                    secret = str(ref.get("name") or "secret")
                    entry = c.at("env", i)
                    yield Hit(f"container {c.name!r} reads Secret {secret!r} key {str(ref.get('key'))!r} into "
                              f"env var {str(e.get('name'))!r}", path=(*entry, "valueFrom", "secretKeyRef"),
                              patch=_as_file_patch(w, c, entry, secret))
        env_from = c.spec.get("envFrom")
        if isinstance(env_from, list):
            for i, e in enumerate(env_from):
                ref = e.get("secretRef") if isinstance(e, dict) else None
                if isinstance(ref, dict):
                    secret = str(ref.get("name") or "secret")
                    entry = c.at("envFrom", i)
                    yield Hit(f"container {c.name!r} loads every key of Secret {secret!r} into env vars",
                              path=(*entry, "secretRef"), patch=_as_file_patch(w, c, entry, secret))
