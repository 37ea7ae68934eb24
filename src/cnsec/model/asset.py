"""Assets: the things worth protecting, found in manifests, Dockerfiles, Terraform or a cluster dump."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cnsec.model.source import Source


class AssetType(StrEnum):
    WORKLOAD = "workload"
    DATA_STORE = "data-store"
    NETWORK = "network"
    IDENTITY = "identity"
    SECRET = "secret"  # noqa: S105 - an asset type, not a password
    CONFIG = "config"
    IMAGE = "image"
    KEY = "key"
    POLICY = "policy"
    NAMESPACE = "namespace"
    CLUSTER = "cluster"
    OTHER = "other"


class Exposure(StrEnum):
    """How far an attacker must already be to reach the asset."""

    INTERNET = "internet"
    CLUSTER = "cluster"
    NONE = "none"


class Criticality(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(slots=True)
class Asset:
    """One inventoried asset. ``id`` is stable across runs: ``<kind>/<namespace>/<name>`` or a TF address."""

    id: str
    type: AssetType
    kind: str
    name: str
    source: Source
    namespace: str | None = None
    exposure: Exposure = Exposure.NONE
    criticality: Criticality = Criticality.MEDIUM
    data_classes: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": str(self.type),
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "source": self.source.to_dict(),
            "exposure": str(self.exposure),
            "criticality": str(self.criticality),
            "data_classes": list(self.data_classes),
            "attrs": self.attrs,
        }
