"""Identities, roles and permissions: cnsec's own users and Kubernetes RBAC subjects alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Permission:
    """``resource:action`` with ``*`` wildcards; ``effect`` is allow or deny."""

    resource: str
    action: str
    effect: str = "allow"

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}"


@dataclass(slots=True)
class Role:
    name: str
    permissions: list[Permission] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Identity:
    """A subject: a cnsec user, or a Kubernetes User / Group / ServiceAccount."""

    kind: str
    name: str
    namespace: str | None = None

    @property
    def id(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace}
