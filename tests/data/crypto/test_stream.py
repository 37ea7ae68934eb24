from __future__ import annotations

import io
import json
import os
import struct

import pytest

from cnsec.data.crypto.errors import (
    KeyVersionDisabledError,
    NotSealedError,
    TamperedDataError,
    TamperedHeaderError,
    TruncatedError,
    UnsupportedFormatError,
    WrongContextError,
    WrongKeyError,
)
from cnsec.data.crypto.keyring import Keyring, MasterKey
from cnsec.data.crypto.providers import LocalKeyUnwrapper, LocalKeyWrapper, Unwrappers
from cnsec.data.crypto.stream import (
    PREAMBLE,
    TAG,
    open_bytes,
    open_stream,
    read_header,
    seal_bytes,
    seal_stream,
)

CHUNK = 64
CTX = {"tenant": "acme"}


class Pipe(io.RawIOBase):
    """A non-seekable reader without fileno, like stdin from a pipe (short reads)."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self._step, len(self._data) - self._pos)
        buf[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def _chunks_start(sealed: bytes) -> int:
    return read_header(io.BytesIO(sealed))[0].header_size


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip_at_chunk_boundaries(size: int, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    data = os.urandom(size)
    sealed = seal_bytes(data, wrap, CTX, chunk_size=CHUNK)
    assert open_bytes(sealed, unwrap, CTX) == data


def test_sealed_size_is_header_plus_one_tag_per_chunk(wrap: list[LocalKeyWrapper]) -> None:
    sealed = seal_bytes(os.urandom(3 * CHUNK + 5), wrap, chunk_size=CHUNK)
    assert len(sealed) - _chunks_start(sealed) == 3 * CHUNK + 5 + 4 * TAG


def test_stream_of_unknown_length_round_trips(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    data = os.urandom(5 * CHUNK)
    out = io.BytesIO()
    header = seal_stream(Pipe(data), out, wrap, CTX, chunk_size=CHUNK)
    assert header.length is None
    plain = io.BytesIO()
    open_stream(Pipe(out.getvalue(), step=13), plain, unwrap, CTX)
    assert plain.getvalue() == data


def test_each_object_gets_a_fresh_data_key(wrap: list[LocalKeyWrapper]) -> None:
    a, b = seal_bytes(b"same", wrap), seal_bytes(b"same", wrap)
    assert a[_chunks_start(a):] != b[_chunks_start(b):]


def test_wrong_context_value_fails_with_wrong_context(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(b"data", wrap, CTX)
    with pytest.raises(WrongContextError, match="do not match"):
        open_bytes(sealed, unwrap, {"tenant": "evil"})


def test_missing_context_names_the_needed_keys(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(b"data", wrap, CTX)
    with pytest.raises(WrongContextError, match=r"context keys \[tenant\], got \[none\]"):
        open_bytes(sealed, unwrap, {})


def test_context_values_are_not_stored(wrap: list[LocalKeyWrapper]) -> None:
    sealed = seal_bytes(b"data", wrap, {"tenant": "acme-corp-secret-name"})
    assert b"acme-corp-secret-name" not in sealed


def test_key_from_another_keyring_is_a_wrong_key(tmp_path: os.PathLike[str], wrap: list[LocalKeyWrapper]) -> None:
    sealed = seal_bytes(b"data", wrap)
    other = Keyring.open(tmp_path / "other.json", MasterKey("raw", os.urandom(32)), missing_ok=True)  # type: ignore[operator]
    other.create("app")
    with pytest.raises(WrongKeyError, match="fingerprint differs"):
        open_bytes(sealed, Unwrappers([LocalKeyUnwrapper(other)]))


def test_missing_key_is_a_wrong_key(wrap: list[LocalKeyWrapper]) -> None:
    sealed = seal_bytes(b"data", wrap)
    with pytest.raises(WrongKeyError, match="no available key"):
        open_bytes(sealed, Unwrappers([]))


def test_rotated_key_still_opens_old_data(ring: Keyring, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(b"old", wrap)
    ring.rotate("app")
    assert open_bytes(sealed, unwrap) == b"old"
    assert read_header(io.BytesIO(seal_bytes(b"new", [LocalKeyWrapper(ring, "app")])))[0].stanzas[0]["version"] == 2


def test_version_below_minimum_is_refused(ring: Keyring, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(b"old", wrap)
    ring.rotate("app")
    ring.set_min_decryption_version("app", 2)
    with pytest.raises(KeyVersionDisabledError):
        open_bytes(sealed, unwrap)


def _edit_header(sealed: bytes, change: dict[str, object]) -> bytes:
    header, signed, mac = read_header(io.BytesIO(sealed))
    body = json.loads(signed[len(PREAMBLE) + 4:])
    body.update(change)
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return PREAMBLE + struct.pack(">I", len(raw)) + raw + mac + sealed[header.header_size:]


def test_changed_header_field_fails_header_authentication(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(os.urandom(200), wrap, chunk_size=CHUNK)
    with pytest.raises(TamperedHeaderError, match="header fails authentication"):
        open_bytes(_edit_header(sealed, {"chunk": 128}), unwrap)


def test_changed_wrapped_key_fails_as_tampered_header(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(b"x", wrap)
    header = read_header(io.BytesIO(sealed))[0]
    stanza = dict(header.stanzas[0])
    stanza["wrapped"] = stanza["wrapped"][:-4] + ("AAAA" if stanza["wrapped"][-4:] != "AAAA" else "BBBB")
    with pytest.raises(TamperedHeaderError, match="wrapped under 'app' v1 fails authentication"):
        open_bytes(_edit_header(sealed, {"stanzas": [stanza]}), unwrap)


def test_modified_chunk_fails_with_its_number(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = bytearray(seal_bytes(os.urandom(3 * CHUNK), wrap, chunk_size=CHUNK))
    start = _chunks_start(bytes(sealed))
    sealed[start + (CHUNK + TAG) + 3] ^= 1
    with pytest.raises(TamperedDataError, match="chunk 1 fails"):
        open_bytes(bytes(sealed), unwrap)


def test_swapped_chunks_are_detected(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(os.urandom(3 * CHUNK), wrap, chunk_size=CHUNK)
    start, size = _chunks_start(sealed), CHUNK + TAG
    c0, c1 = sealed[start:start + size], sealed[start + size:start + 2 * size]
    swapped = sealed[:start] + c1 + c0 + sealed[start + 2 * size:]
    with pytest.raises(TamperedDataError, match="chunk 0"):
        open_bytes(swapped, unwrap)


def test_dropping_the_final_chunk_is_truncation(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(os.urandom(3 * CHUNK), wrap, chunk_size=CHUNK)
    with pytest.raises(TruncatedError, match="bytes are missing"):
        open_bytes(sealed[:-(CHUNK + TAG)], unwrap)


def test_truncated_pipe_at_chunk_boundary_reports_missing_final_chunk(
        wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    out = io.BytesIO()
    seal_stream(Pipe(os.urandom(3 * CHUNK)), out, wrap, chunk_size=CHUNK)
    cut = out.getvalue()[:-(CHUNK + TAG)]
    with pytest.raises(TruncatedError, match="final chunk is missing"):
        open_stream(Pipe(cut), io.BytesIO(), unwrap)


def test_appended_data_is_detected(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = seal_bytes(os.urandom(CHUNK), wrap, chunk_size=CHUNK)
    with pytest.raises(TamperedDataError, match="unexpected bytes"):
        open_bytes(sealed + b"\0" * 20, unwrap)


def test_plain_file_is_not_sealed(unwrap: Unwrappers) -> None:
    with pytest.raises(NotSealedError, match="bad magic"):
        open_bytes(b"hello world, not encrypted", unwrap)


def test_newer_format_version_is_unsupported(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = bytearray(seal_bytes(b"x", wrap))
    sealed[6] = 9
    with pytest.raises(UnsupportedFormatError, match="version 9"):
        open_bytes(bytes(sealed), unwrap)


def test_header_is_readable_without_any_key(wrap: list[LocalKeyWrapper]) -> None:
    sealed = seal_bytes(b"x" * 10, wrap, CTX, chunk_size=CHUNK)
    summary = read_header(io.BytesIO(sealed))[0].summary()
    assert (summary["key_name"], summary["key_version"], summary["context_keys"], summary["chunk_size"]) == \
        ("app", 1, ["tenant"], CHUNK)
    assert "wrapped" not in json.dumps(summary)
