from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.model.severity import Severity

# Cheap prefilter over whole files: only lines that name one of these can hold a weak setting, so the
# detector (about ten patterns per line) only sees those lines. RE2 has no look-arounds, hence the
# consumed boundary characters; RE2 scans the corpus ~40x faster than ``re`` with look-behinds.
_CANDIDATE_PATTERN = (
    r"(?i)(?:^|[^a-z])(?:ecb|mode_ecb|des|3des|des3|desede|tripledes|triple-des|single.des|rc4|arcfour|arc4|cbc)"
    r"(?:[^a-z]|$)|md5|sha-?1|rsa|pkcs|(?:^|[^a-z0-9])(?:rs1|hs1)(?:[^a-z0-9]|$)|bits|key.?size|key.?length|keysize")


@cache
def _candidate() -> Any:
    try:
        import re2

        return re2.compile(_CANDIDATE_PATTERN)
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return re.compile(_CANDIDATE_PATTERN, re.MULTILINE)


def candidate_lines(text: str) -> list[int]:
    """0-based numbers of the lines that mention something the detector looks for."""
    out: list[int] = []
    line = 0
    pos = 0
    for m in _candidate().finditer(text):
        start = m.start() + (1 if text[m.start()] == "\n" else 0)
        line += text.count("\n", pos, start)
        pos = start
        if not out or out[-1] != line:
            out.append(line)
    return out


@dataclass(frozen=True, slots=True)
class FileText:
    """What a hit outside every resource of its file is about: the file itself (a Terraform
    ``locals`` or ``variable`` block, a comment between YAML documents). Its key is the asset id."""

    file: str
    key: str
    line: int = 1


def _owners_by_file(inv: Any) -> dict[str, tuple[list[int], list[Any]]]:
    """Per file, its resources by start line, so a hit's line maps to the resource that holds it."""
    grouped: dict[str, list[Any]] = {}
    for r in [*inv.k8s, *inv.terraform, *inv.dockerfiles]:
        grouped.setdefault(r.file, []).append(r)
    out = {}
    for file, items in grouped.items():
        items.sort(key=lambda r: getattr(r, "line", 1))
        out[file] = ([getattr(r, "line", 1) for r in items], items)
    return out


def _owner(starts: list[int], owners: list[Any], line: int) -> Any:
    """The innermost resource whose text holds ``line`` (a Dockerfile holds its whole file), else
    ``None``: a hit is never put on a neighbour it did not come from."""
    for i in range(bisect_right(starts, line) - 1, -1, -1):
        r = owners[i]
        end = getattr(r, "end_line", None)
        if end is None or line <= end:
            return r
    return None


def text_hits(inv: Any, detect: Callable[[str], list[tuple[int, str]]]) -> Iterator[Hit]:
    """``detect`` (1-based line, message over text) run on the candidate lines of every file, each hit
    on the resource whose text it came from, or on the file when no resource holds that line. A file
    with no resource at all (a JSON or YAML document of another kind: test expectations, a control's
    description, an application's own config) is not an assessed configuration and gives no hit."""
    owners_index: dict[str, tuple[list[int], list[Any]]] | None = None
    for file, text in inv.texts.items():
        # the file as read has every candidate the lines have (line breaks are not letters): most
        # files have none, and are never split into lines
        if _candidate().search(text) is None:
            continue
        if owners_index is None:
            owners_index = _owners_by_file(inv)
        starts, owners = owners_index.get(file, ([], []))
        if not owners:
            continue
        lines = inv.lines(file)
        numbers = candidate_lines("\n".join(lines))
        if not numbers:
            continue
        found = detect("\n".join(lines[n] for n in numbers))
        if not found:
            continue
        for i, message in found:
            line = numbers[i - 1] + 1
            owner = _owner(starts, owners, line) or FileText(file, file, line)
            yield Hit(message, line=line, resource=owner, location=f"{message}@{lines[line - 1].strip()[:80]}")


@check(
    id="CNSEC-CFG-001",
    title="Weak cryptography configured",
    severity=Severity.MEDIUM,
    target="files",
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation="Use authenticated encryption (AES-GCM or ChaCha20-Poly1305), RSA-OAEP or ECDH with keys of "
                "at least 3072 bits, and SHA-256 or better for signatures.",
)
def weak_crypto(inv: Any, ctx: Any) -> Iterator[Hit]:
    """ECB, DES/3DES/RC4, CBC without a MAC, MD5/SHA-1 signatures or RSA without OAEP named in a
    manifest, Terraform file or Dockerfile protect nothing against a capable attacker. The detection is
    the data-security pillar's own (``cnsec.data.crypto.weak``), so both pillars agree on what is weak.
    TLS cipher suites that are legacy rather than broken (CBC with HMAC, static RSA) are CNSEC-CFG-002;
    a certificate's SHA-1 thumbprint (which AWS IAM requires for OIDC providers) is an identifier, not
    a signature choice."""
    from cnsec.data import weak_crypto_settings

    yield from text_hits(inv, weak_crypto_settings)
