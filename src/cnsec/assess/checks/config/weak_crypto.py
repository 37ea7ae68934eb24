from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.model.severity import Severity

# Cheap prefilter: a file that names none of these cannot hold a weak-crypto setting.
_MENTIONS = re.compile(r"(?i)ecb|des|rc4|arcfour|arc4|cbc|md5|sha-?1|rsa|pkcs")


def _owners(ctx: Any, file: str) -> tuple[list[int], list[Any]]:
    """Resources of ``file`` by start line, so a hit's line maps to the resource that holds it."""
    inv = ctx.inventory
    items = [r for r in inv.k8s if r.file == file] + [r for r in inv.terraform if r.file == file] \
        + [d for d in inv.dockerfiles if d.file == file]
    items.sort(key=lambda r: getattr(r, "line", 1))
    return [getattr(r, "line", 1) for r in items], items


@check(
    id="CNSEC-CFG-001",
    title="Weak cryptography configured",
    severity=Severity.MEDIUM,
    target="inventory",
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation="Use authenticated encryption (AES-GCM or ChaCha20-Poly1305), RSA-OAEP or ECDH with keys of "
                "at least 3072 bits, and SHA-256 or better for signatures.",
)
def weak_crypto(inv: Any, ctx: Any) -> Iterator[Hit]:
    """ECB, DES/3DES/RC4, CBC without a MAC, MD5/SHA-1 signatures or RSA without OAEP named in a
    manifest, Terraform file or Dockerfile protect nothing against a capable attacker. The detection is
    the data-security pillar's own (``cnsec.data.crypto.weak``), so both pillars agree on what is weak."""
    from cnsec.data.crypto.weak import weak_crypto_settings

    for file, lines in inv.texts.items():
        text = "\n".join(lines)
        if not _MENTIONS.search(text):
            continue
        hits = weak_crypto_settings(text)
        if not hits:
            continue
        starts, owners = _owners(ctx, file)
        for line, message in hits:
            i = bisect_right(starts, line) - 1
            owner = owners[i] if i >= 0 else (owners[0] if owners else None)
            if owner is None:
                continue
            yield Hit(message, line=line, resource=owner, location=f"{message}@{lines[line - 1].strip()[:80]}")
