from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._images import ImageRef, looks_templated, parse_image
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


def allowed(ref: ImageRef, allowlist: tuple[str, ...]) -> bool:
    """An entry is a registry host (``registry.example.com``, ``*.example.com``) or a repository
    prefix (``ghcr.io/acme``); ``docker.io/library`` covers official Docker Hub images."""
    full = ref.full_name
    for entry in allowlist:
        entry = entry.strip().rstrip("/").lower()
        if not entry:
            continue
        if "/" in entry:
            if full == entry or full.startswith(entry + "/"):
                return True
        elif fnmatch.fnmatchcase(ref.registry, entry):
            return True
    return False


@check(
    id="CNSEC-K8S-026",
    title="Image from a registry not on the allowlist",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Mirror the image into an approved registry, or add its registry to allowed_registries in "
                ".cnsec.yaml after review.",
    equivalents={"kubescape": ("C-0078",)},
)
def image_registry(w: Workload, ctx: Any) -> Iterator[Hit]:
    """Images from registries you do not control bypass your scanning and signing, and a typo-squatted
    or hijacked public repository runs straight in the cluster. The allowlist is
    ``allowed_registries`` in ``.cnsec.yaml`` (hosts such as ``registry.example.com`` or
    ``*.example.com``, or repository prefixes such as ``ghcr.io/acme``); images without a registry
    are Docker Hub (``docker.io``). When the allowlist is empty (the default) this check reports
    nothing: there is no policy to compare with."""
    config = getattr(ctx, "config", None)
    allowlist = tuple(getattr(config, "allowed_registries", ()) or ())
    if not allowlist:
        return
    for c in w.containers:
        image = c.image
        if not image.strip() or looks_templated(image):
            continue
        ref = parse_image(image)
        if not allowed(ref, allowlist):
            yield Hit(f"container {c.name!r} pulls {image!r} from {ref.registry}, which is not on the "
                      f"allowlist", path=c.at("image"))
