"""Format validators shared by detector declarations (checksums, structure, decodable payloads)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


def github_checksum(token: str) -> bool:
    """GitHub's new-format tokens end in a base62 CRC32 of the random part (``ghp_`` + 30 + 6)."""
    _, _, body = token.partition("_")
    if len(body) < 36:
        return False
    return _base62(zlib.crc32(body[:-6].encode()), 6) == body[-6:]


def _b64decode(text: str) -> bytes | None:
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def jwt_structure(token: str) -> bool:
    """A JWT's first segment decodes to a JSON object naming an ``alg`` or ``typ``."""
    raw = _b64decode(token.split(".", 1)[0])
    if raw is None:
        return False
    try:
        header = json.loads(raw.decode("utf-8", "strict"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(header, dict) and ("alg" in header or "typ" in header or "kid" in header)


def basic_auth(value: str) -> bool:
    """``Authorization: Basic`` carries base64 of ``user:password`` (printable)."""
    raw = _b64decode(value)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    user, sep, pw = text.partition(":")
    return bool(sep and user and len(pw) >= 3 and text.isprintable())


_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]{16,}")


def pem_body(block: str) -> bool:
    """A real key block has base64 content; an encrypted one (``Proc-Type: 4,ENCRYPTED``) is not a leak."""
    upper = block.upper()
    header = upper.split("\n", 1)[0][:80]
    if "ENCRYPTED" in upper or any(w in header for w in ("FAKE", "EMPTY", "EXAMPLE", "DUMMY", "TEST")):
        return False
    if "..." in block or "NOT A REAL" in upper:
        return False
    return sum(len(m) for m in _PEM_BODY.findall(block.replace("\\n", "\n"))) >= 40


def atlassian_pat(token: str) -> bool:
    """Jira/Confluence PATs are base64 of ``<12-digit id>:<random>``."""
    raw = _b64decode(token[:16])
    return raw is not None and raw.isdigit() and len(raw) == 12


#: Token boundaries: a secret is not part of a longer identifier.
B = r"(?<![A-Za-z0-9_])"
E = r"(?![A-Za-z0-9_])"
