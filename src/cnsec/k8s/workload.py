"""A workload seen through its pod spec: what most Kubernetes checks look at, and what the RBAC model
reads (which service account a pod runs as, whether its token is mounted).

Which kinds carry a pod spec and where (:func:`pod_spec_path`) is Kubernetes knowledge, so it lives here,
under the pillars; the JSON patches and YAML snippets of the mitigation plan that point into it are the
assess pillar's (:mod:`cnsec.assess.patches`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnsec.k8s.resource import K8sResource

Path = tuple[str | int, ...]

#: Kinds that carry a pod spec (a pod template).
WORKLOAD_KINDS = {
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
    "CronJob", "PodTemplate", "DeploymentConfig",
}


def pod_spec_path(res: K8sResource) -> tuple[str, ...] | None:
    """Where a workload keeps its pod spec, or ``None`` for kinds that have none."""
    kind = res.kind
    if kind == "Pod":
        return ("spec",)
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    if kind == "PodTemplate":
        return ("template", "spec")
    if kind in WORKLOAD_KINDS:
        return ("spec", "template", "spec")
    return None


@dataclass(slots=True)
class Container:
    name: str
    spec: dict[str, Any]
    path: Path  # path of this container inside the resource document
    init: bool
    ephemeral: bool = False

    @property
    def security_context(self) -> dict[str, Any]:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    @property
    def image(self) -> str:
        v = self.spec.get("image")
        return v if isinstance(v, str) else ""

    def at(self, *rest: str | int) -> Path:
        return (*self.path, *rest)


@dataclass(slots=True)
class Workload:
    res: K8sResource
    pod: dict[str, Any]
    pod_path: Path
    containers: list[Container]

    @property
    def kind(self) -> str:
        return self.res.kind

    @property
    def pod_security_context(self) -> dict[str, Any]:
        sc = self.pod.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    def pod_at(self, *rest: str | int) -> Path:
        return (*self.pod_path, *rest)

    @property
    def template_metadata(self) -> dict[str, Any]:
        if self.res.kind == "Pod":
            return self.res.metadata
        md = self.res.get(*self.pod_path[:-1], "metadata")
        return md if isinstance(md, dict) else {}

    @property
    def pod_labels(self) -> dict[str, Any]:
        v = self.template_metadata.get("labels")
        return v if isinstance(v, dict) else {}

    def effective(self, container: Container, key: str) -> Any:
        """A securityContext field as Kubernetes applies it: the container's, else the pod's."""
        sc = container.security_context
        if key in sc and sc[key] is not None:
            return sc[key]
        return self.pod_security_context.get(key)


#: The resource the engine is checking now and its workload: a dozen checks of one resource ask for
#: it, and it is the same object for all of them (set by :func:`checking`, so never stale).
_CHECKING: list[Any] = [None, None]


def checking(res: K8sResource | None, workload: Workload | None = None) -> None:
    """Tell :func:`as_workload` which resource is being checked and its workload (``None``: none)."""
    _CHECKING[0] = res
    _CHECKING[1] = workload


def as_workload(res: K8sResource) -> Workload | None:
    if _CHECKING[0] is res:
        return _CHECKING[1]  # type: ignore[no-any-return]
    return _as_workload(res)


def _as_workload(res: K8sResource) -> Workload | None:
    path = pod_spec_path(res)
    if path is None:
        return None
    pod = res.get(*path)
    if not isinstance(pod, dict):
        return None
    containers: list[Container] = []
    for field_name, init, eph in (("initContainers", True, False), ("containers", False, False),
                                  ("ephemeralContainers", False, True)):
        items = pod.get(field_name)
        if not isinstance(items, list):
            continue
        for i, spec in enumerate(items):
            if isinstance(spec, dict):
                name = str(spec["name"]) if "name" in spec else f"#{i}"
                containers.append(Container(name, spec, (*path, field_name, i), init, eph))
    return Workload(res, pod, path, containers)
