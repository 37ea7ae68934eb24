"""Shared logic of the probe checks: which containers should have probes, and a starting probe."""

from __future__ import annotations

from typing import Any

from cnsec.k8s.workload import Container, Workload

RUN_TO_COMPLETION = {"Job", "CronJob"}


def long_running(w: Workload) -> list[Container]:
    """Containers of long-running pods: Jobs and CronJobs (and Pods a Job owns) finish by design,
    init and ephemeral containers cannot have liveness/readiness probes."""
    if w.kind in RUN_TO_COMPLETION:
        return []
    owners = w.res.metadata.get("ownerReferences")
    if isinstance(owners, list) and any(isinstance(o, dict) and str(o.get("kind")) in RUN_TO_COMPLETION
                                        for o in owners):
        return []
    return [c for c in w.containers if not c.init and not c.ephemeral]


def starter_probe(c: Container) -> dict[str, Any] | None:
    """A TCP probe on the container's first declared port, or ``None`` when it declares none."""
    ports = c.spec.get("ports")
    if isinstance(ports, list):
        for p in ports:
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int):
                return {"tcpSocket": {"port": p["containerPort"]}, "initialDelaySeconds": 5,
                        "periodSeconds": 10}
    return None
