"""The sealed-file format (``docs/formats.md``): an authenticated header, then STREAM-framed chunks.

Layout::

    "CNSEC\\0" | version u8 (=1) | reserved u8 (=0) | header length u32 BE | header JSON | HMAC-SHA256
    chunk 0 | chunk 1 | ... | final chunk          (each chunk = AES-256-GCM ciphertext || 16-byte tag)

A fresh 256-bit data key (DEK) per object; from it and the header's random 32-byte salt HKDF-SHA256
derives the header MAC key, the context-commitment key and the payload key (which also binds the
encryption context). Chunk *i* uses nonce ``prefix(7) || i (u32 BE) || final (u8)``, so reordering,
swapping, dropping or appending chunks all fail authentication, and a stream that ends without its final
chunk is reported as truncated. Memory stays at a few chunk buffers whatever the size.

The wrapped DEKs (stanzas) sit in the header but the chunks do not depend on them, so ``rewrap`` only
rewrites the header and copies the chunks unchanged, never producing plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import stat
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cnsec.data.crypto._util import b64d, b64e, canonical_context, canonical_json, hkdf
from cnsec.data.crypto.errors import (
    NotSealedError,
    TamperedDataError,
    TamperedHeaderError,
    TruncatedError,
    UnsupportedFormatError,
    WrongContextError,
)
from cnsec.data.crypto.providers import KeyWrapper, Stanza, Unwrappers
from cnsec.errors import InputError, UsageError

MAGIC = b"CNSEC\x00"
FORMAT_VERSION = 1
PREAMBLE = MAGIC + bytes([FORMAT_VERSION, 0])
ALGORITHM = "AES-256-GCM/HKDF-SHA256/STREAM"
TAG = 16
MAC_LEN = 32
DEFAULT_CHUNK = 1 << 20
MIN_CHUNK = 64
MAX_CHUNK = 16 << 20
MAX_HEADER = 1 << 20
MAX_CHUNKS = 1 << 32


@dataclass
class Header:
    chunk_size: int
    length: int | None
    salt: bytes
    nonce_prefix: bytes
    context_keys: list[str]
    context_commitment: bytes
    stanzas: list[Stanza]
    algorithm: str = ALGORITHM
    version: int = FORMAT_VERSION
    header_size: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"v": self.version, "alg": self.algorithm, "chunk": self.chunk_size, "length": self.length,
                "salt": b64e(self.salt), "nonce_prefix": b64e(self.nonce_prefix),
                "context_keys": self.context_keys, "context_commitment": b64e(self.context_commitment),
                "stanzas": self.stanzas}

    @classmethod
    def from_json(cls, data: Any) -> Header:
        try:
            if not isinstance(data, dict):
                raise TypeError
            if data["v"] != FORMAT_VERSION:
                raise UnsupportedFormatError(f"header declares format version {data['v']!r}; "
                                             f"this cnsec reads version {FORMAT_VERSION}")
            if data["alg"] != ALGORITHM:
                raise UnsupportedFormatError(f"unknown algorithm {data['alg']!r} (from a newer cnsec, or "
                                             f"the header is damaged)")
            chunk, length = data["chunk"], data["length"]
            if type(chunk) is not int or not MIN_CHUNK <= chunk <= MAX_CHUNK:
                raise ValueError
            if length is not None and (type(length) is not int or length < 0):
                raise ValueError
            keys = data["context_keys"]
            stanzas = data["stanzas"]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ValueError
            if not isinstance(stanzas, list) or not all(isinstance(s, dict) for s in stanzas):
                raise ValueError
            header = cls(chunk, length, b64d(data["salt"]), b64d(data["nonce_prefix"]), keys,
                         b64d(data["context_commitment"]), stanzas)
            sizes = (len(header.salt), len(header.nonce_prefix), len(header.context_commitment))
            if sizes != (32, 7, 32):
                raise ValueError
            return header
        except (KeyError, TypeError, ValueError):
            raise TamperedHeaderError("the header is malformed (modified or damaged)") from None

    def summary(self) -> dict[str, Any]:
        """What ``inspect`` shows: nothing secret, nothing that needs a key."""
        keys = [{k: v for k, v in s.items() if k not in ("wrapped", "epk")} for s in self.stanzas]
        local = next((s for s in self.stanzas if s.get("type") == "local"), None)
        return {"format": "cnsec sealed file", "format_version": self.version, "algorithm": self.algorithm,
                "key_name": local.get("key") if local else None,
                "key_version": local.get("version") if local else None,
                "keys": keys, "context_keys": self.context_keys, "chunk_size": self.chunk_size,
                "plaintext_length": self.length, "header_size": self.header_size}


@dataclass
class _Keys:
    header: bytes
    commit: bytes
    payload: bytes


def _derive(dek: bytes, salt: bytes, context: Mapping[str, str]) -> _Keys:
    return _Keys(hkdf(dek, salt, b"cnsec/v1 header"), hkdf(dek, salt, b"cnsec/v1 context"),
                 hkdf(dek, salt, b"cnsec/v1 payload\x00" + canonical_context(context)))


def _commit(key: bytes, context: Mapping[str, str]) -> bytes:
    return hmac.new(key, canonical_context(context), hashlib.sha256).digest()


def _encode_header(header: Header, header_key: bytes) -> bytes:
    body = canonical_json(header.to_json())
    if len(body) > MAX_HEADER:
        raise UsageError("too many recipients: the header would exceed 1 MiB")
    signed = PREAMBLE + struct.pack(">I", len(body)) + body
    return signed + hmac.new(header_key, signed, hashlib.sha256).digest()


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left:
        part = src.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_full(src: BinaryIO, buf: bytearray) -> int:
    """Fill ``buf`` unless the input ends first (pipes return short reads)."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = src.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def read_header(src: BinaryIO) -> tuple[Header, bytes, bytes]:
    """Parse the header without any key: (header, signed bytes, mac). Checks structure only."""
    preamble = _read_exact(src, len(PREAMBLE))
    if preamble[:len(MAGIC)] != MAGIC[:len(preamble)] or not preamble:
        raise NotSealedError("not a cnsec sealed file (bad magic)")
    if len(preamble) < len(PREAMBLE):
        raise TruncatedError("the file is truncated inside its header")
    if preamble[len(MAGIC)] != FORMAT_VERSION:
        raise UnsupportedFormatError(f"sealed file format version {preamble[len(MAGIC)]} is not supported "
                                     f"(this cnsec reads version {FORMAT_VERSION})")
    if preamble[len(MAGIC) + 1] != 0:
        raise TamperedHeaderError("the header's reserved byte is not zero (modified or damaged)")
    raw_len = _read_exact(src, 4)
    if len(raw_len) < 4:
        raise TruncatedError("the file is truncated inside its header")
    (body_len,) = struct.unpack(">I", raw_len)
    if body_len > MAX_HEADER:
        raise TamperedHeaderError("the header length is implausible (modified or damaged)")
    body = _read_exact(src, body_len)
    mac = _read_exact(src, MAC_LEN)
    if len(body) < body_len or len(mac) < MAC_LEN:
        raise TruncatedError("the file is truncated inside its header")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TamperedHeaderError("the header is not valid JSON (modified or damaged)") from None
    header = Header.from_json(data)
    header.header_size = len(PREAMBLE) + 4 + body_len + MAC_LEN
    return header, preamble + raw_len + body, mac


def _check_context_keys(header: Header, context: Mapping[str, str]) -> None:
    given = sorted(context)
    if given != header.context_keys:
        want = ", ".join(header.context_keys) or "none"
        got = ", ".join(given) or "none"
        raise WrongContextError(f"wrong encryption context: the data was sealed with context keys "
                                f"[{want}], got [{got}]")


def open_header(src: BinaryIO, unwrappers: Unwrappers,
                context: Mapping[str, str] | None) -> tuple[Header, bytes, _Keys, Stanza]:
    """Read and authenticate the header; with ``context=None`` the context is not checked (rewrap)."""
    header, signed, mac = read_header(src)
    if context is not None:
        _check_context_keys(header, context)
    dek, used = unwrappers.unwrap(header.stanzas, header.salt)
    keys = _derive(dek, header.salt, context or {})
    if not hmac.compare_digest(hmac.new(keys.header, signed, hashlib.sha256).digest(), mac):
        raise TamperedHeaderError("the header fails authentication (modified or damaged)")
    if context is not None and not hmac.compare_digest(_commit(keys.commit, context),
                                                       header.context_commitment):
        raise WrongContextError(f"wrong encryption context: the values given for "
                                f"[{', '.join(header.context_keys)}] do not match")
    return header, dek, keys, used


def _remaining(src: BinaryIO) -> int | None:
    try:
        fd = src.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        return st.st_size - src.tell()
    except (OSError, AttributeError, io.UnsupportedOperation):
        if isinstance(src, io.BytesIO):
            return len(src.getbuffer()) - src.tell()
        return None


def sealed_size(length: int, chunk_size: int) -> int:
    chunks = max(1, -(-length // chunk_size))
    return length + chunks * TAG


class Sealer:
    """Seals one object: ``header_bytes`` first, then :meth:`chunks` yields each sealed chunk.

    :func:`seal_stream` writes them to a file; network code can send them as they come. Each yielded
    view is valid until the next one is produced (buffers are reused so memory stays flat).
    """

    def __init__(self, wrappers: Sequence[KeyWrapper], context: Mapping[str, str] | None = None, *,
                 chunk_size: int = DEFAULT_CHUNK, length: int | None = None) -> None:
        context = dict(context or {})
        if not wrappers:
            raise UsageError("no key to encrypt with: give a key name or a recipient")
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise UsageError(f"chunk size must be between {MIN_CHUNK} and {MAX_CHUNK} bytes")
        dek, salt, prefix = os.urandom(32), os.urandom(32), os.urandom(7)
        keys = _derive(dek, salt, context)
        self.header = Header(chunk_size, length, salt, prefix, sorted(context),
                             _commit(keys.commit, context), [w.wrap(dek, salt) for w in wrappers])
        self.header_bytes = _encode_header(self.header, keys.header)
        self._aead = AESGCM(keys.payload)

    def chunks(self, src: BinaryIO) -> Iterator[memoryview]:
        chunk_size, prefix, length = self.header.chunk_size, self.header.nonce_prefix, self.header.length
        encrypt_into = self._aead.encrypt_into
        cur, nxt = bytearray(chunk_size), bytearray(chunk_size)
        out_view = memoryview(bytearray(chunk_size + TAG))
        n = _read_full(src, cur)
        index = total = 0
        while True:
            if n < chunk_size:
                m, final = 0, True
            else:
                m = _read_full(src, nxt)
                final = m == 0
            if index >= MAX_CHUNKS:
                raise UsageError("input too large for one sealed object")
            encrypt_into(prefix + struct.pack(">IB", index, final), memoryview(cur)[:n], None,
                         out_view[:n + TAG])
            total += n
            index += 1
            if final and length is not None and total != length:
                raise InputError(f"the input changed while it was being encrypted ({total} bytes read, "
                                 f"{length} expected)")
            yield out_view[:n + TAG]
            if final:
                return
            cur, nxt, n = nxt, cur, m


def seal_stream(src: BinaryIO, dst: BinaryIO, wrappers: Sequence[KeyWrapper],
                context: Mapping[str, str] | None = None, *, chunk_size: int = DEFAULT_CHUNK,
                length: int | None = None) -> Header:
    """Encrypt ``src`` to ``dst``. ``length`` (when known) goes into the authenticated header."""
    sealer = Sealer(wrappers, context, chunk_size=chunk_size, length=length)
    dst.write(sealer.header_bytes)
    for piece in sealer.chunks(src):
        dst.write(piece)
    return sealer.header


def open_stream(src: BinaryIO, dst: BinaryIO, unwrappers: Unwrappers,
                context: Mapping[str, str] | None = None,
                on_header: Callable[[Header], None] | None = None) -> Header:
    """Decrypt ``src`` to ``dst``; raises a specific :class:`CryptoError` on any failure.

    Chunks are written as they are verified; callers that write files must write to a temp file and
    discard it on error (``cnsec.fsutil.atomic_writer`` does), so no partial plaintext survives.
    """
    context = dict(context or {})
    header, _, keys, _ = open_header(src, unwrappers, context)
    if on_header is not None:
        on_header(header)
    chunk = header.chunk_size
    remaining = _remaining(src)
    if header.length is not None and remaining is not None:
        expected = sealed_size(header.length, chunk)
        if remaining < expected:
            raise TruncatedError(f"the sealed data is truncated: {expected - remaining} bytes are missing")
        if remaining > expected:
            raise TamperedDataError(f"{remaining - expected} unexpected bytes follow the final chunk")
    aead = AESGCM(keys.payload)
    prefix = header.nonce_prefix
    cur, nxt = bytearray(chunk + TAG), bytearray(chunk + TAG)
    out = bytearray(chunk)
    out_view = memoryview(out)
    n = _read_full(src, cur)
    index = total = 0
    while True:
        if n < chunk + TAG:
            m, final = 0, True
        else:
            m = _read_full(src, nxt)
            final = m == 0
        if n < TAG:
            raise TruncatedError(f"the sealed data is truncated at chunk {index}")
        view = memoryview(cur)[:n]
        try:
            aead.decrypt_into(prefix + struct.pack(">IB", index, final), view, None, out_view[:n - TAG])
        except InvalidTag:
            raise _chunk_failure(aead, prefix, index, final, view, n - TAG) from None
        dst.write(out_view[:n - TAG])
        total += n - TAG
        index += 1
        if final:
            break
        cur, nxt, n = nxt, cur, m
    if header.length is not None and total != header.length:
        raise TruncatedError(f"the sealed data is truncated: {header.length - total} plaintext bytes missing"
                             if total < header.length else "the sealed data is longer than its header says")
    return header


def _chunk_failure(aead: AESGCM, prefix: bytes, index: int, final: bool, view: memoryview,
                   size: int) -> Exception:
    if final:
        # A chunk that authenticates as non-final at the end of the input: the rest was cut off.
        try:
            aead.decrypt_into(prefix + struct.pack(">IB", index, False), view, None, bytearray(size))
            return TruncatedError(f"the sealed data is truncated after chunk {index}: the final chunk "
                                  f"is missing")
        except InvalidTag:
            pass
        return TamperedDataError(f"the last chunk ({index}) fails authentication: modified or truncated")
    return TamperedDataError(f"chunk {index} fails authentication: modified, reordered or swapped")


def rewrap_stream(src: BinaryIO, dst: BinaryIO, unwrappers: Unwrappers,
                  new_wrappers: Callable[[Header, Stanza], Sequence[KeyWrapper]]) -> tuple[Header, Header]:
    """Replace the key stanzas, then copy the chunks byte for byte: no plaintext is produced."""
    header, dek, _, used = open_header(src, unwrappers, None)
    wrappers = new_wrappers(header, used)
    stanzas = [w.wrap(dek, header.salt) for w in wrappers]
    new = Header(header.chunk_size, header.length, header.salt, header.nonce_prefix, header.context_keys,
                 header.context_commitment, stanzas)
    keys = _derive(dek, header.salt, {})
    dst.write(_encode_header(new, keys.header))
    while True:
        block = src.read(1 << 20)
        if not block:
            break
        dst.write(block)
    return header, new


def seal_bytes(data: bytes, wrappers: Sequence[KeyWrapper], context: Mapping[str, str] | None = None,
               *, chunk_size: int = DEFAULT_CHUNK) -> bytes:
    out = io.BytesIO()
    seal_stream(io.BytesIO(data), out, wrappers, context, chunk_size=chunk_size, length=len(data))
    return out.getvalue()


def open_bytes(data: bytes, unwrappers: Unwrappers, context: Mapping[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    open_stream(io.BytesIO(data), out, unwrappers, context)
    return out.getvalue()
