"""Threats: what an attacker can do (STRIDE + MITRE ATT&CK / Kubernetes Threat Matrix ids).

The catalog is a data file (``threats.yaml`` beside this module) shared by every pillar: assess maps
checks to threats, detect maps signs and rules to threats, risks are scored per (asset, threat).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

STRIDE = {
    "S": "Spoofing",
    "T": "Tampering",
    "R": "Repudiation",
    "I": "Information disclosure",
    "D": "Denial of service",
    "E": "Elevation of privilege",
}


@dataclass(frozen=True, slots=True)
class Threat:
    id: str
    name: str
    stride: tuple[str, ...]
    attack_ids: tuple[str, ...]
    description: str
    severity: str = "medium"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "stride": list(self.stride),
            "stride_names": [STRIDE[s] for s in self.stride],
            "attack_ids": list(self.attack_ids),
            "description": self.description,
            "severity": self.severity,
        }


@cache
def threat_catalog() -> dict[str, Threat]:
    """The bundled threat catalog, by id (validated once, cached)."""
    from importlib import resources

    import yaml

    text = resources.files("cnsec.model").joinpath("threats.yaml").read_text(encoding="utf-8")
    try:
        raw = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: 10x faster than safe_load
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        raw = yaml.safe_load(text)
    catalog: dict[str, Threat] = {}
    for entry in raw["threats"]:
        stride = tuple(entry["stride"])
        unknown = [s for s in stride if s not in STRIDE]
        if unknown:
            raise ValueError(f"threat {entry['id']}: unknown STRIDE letters {unknown}")
        if entry["id"] in catalog:
            raise ValueError(f"duplicate threat id {entry['id']}")
        catalog[entry["id"]] = Threat(
            id=entry["id"],
            name=entry["name"],
            stride=stride,
            attack_ids=tuple(entry.get("attack", ())),
            description=entry["description"].strip(),
            severity=entry.get("severity", "medium"),
        )
    return catalog
