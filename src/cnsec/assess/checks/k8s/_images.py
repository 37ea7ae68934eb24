"""Container image references as Kubernetes and the registries read them (shared by the image checks).

``nginx`` is ``docker.io/library/nginx:latest``; the first path component is a registry only when it
looks like a host (has a dot or a port, or is ``localhost``); a tag lives in the last component after
``:``; a digest follows ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]+$")
#: Registered OCI digest algorithms and the exact length of their lower-case hex encoding.
_REGISTERED = {"sha256": 64, "sha512": 128, "blake3": 64}


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def has_valid_digest(self) -> bool:
        d = self.digest
        if not _DIGEST.match(d):
            return False
        algo, _, encoded = d.partition(":")
        size = _REGISTERED.get(algo)
        if size is None:
            return True  # an unregistered algorithm: the OCI spec fixes no length
        return len(encoded) == size and all(ch in "0123456789abcdef" for ch in encoded)

    @property
    def full_name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(ref: str) -> ImageRef:
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    registry = DEFAULT_REGISTRY
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, name = first.lower(), rest
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1:]
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = DEFAULT_REGISTRY
        if "/" not in name:
            name = f"library/{name}"
    return ImageRef(registry=registry, repository=name, tag=tag, digest=digest)


def looks_templated(ref: str) -> bool:
    """An image filled in later (``${IMAGE}``, ``{{ .Values.image }}``, ``$(TAG)``): nothing to judge."""
    return "${" in ref or "{{" in ref or "$(" in ref
