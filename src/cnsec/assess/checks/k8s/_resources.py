"""Shared logic of the resource request/limit checks: what Kubernetes applies for one container."""

from __future__ import annotations

from typing import Any

from cnsec.k8s.workload import Container


def _section(c: Container, name: str) -> dict[str, Any]:
    res = c.spec.get("resources")
    if not isinstance(res, dict):
        return {}
    sec = res.get(name)
    return sec if isinstance(sec, dict) else {}


def _set(value: Any) -> bool:
    return value is not None and value != "" and value is not False


def has_limit(c: Container, resource: str) -> bool:
    return _set(_section(c, "limits").get(resource))


def has_request(c: Container, resource: str) -> bool:
    """A request is set explicitly, or defaulted by Kubernetes to the limit when only the limit is set."""
    return _set(_section(c, "requests").get(resource)) or has_limit(c, resource)


def request_value(c: Container, resource: str) -> Any:
    v = _section(c, "requests").get(resource)
    return v if _set(v) else None


def limit_value(c: Container, resource: str) -> Any:
    v = _section(c, "limits").get(resource)
    return v if _set(v) else None


def sized_containers(containers: list[Container]) -> list[Container]:
    """Containers that can carry resources: ephemeral (debug) containers may not set any."""
    return [c for c in containers if not c.ephemeral]
