"""Whole-file encryption: sealed streams between files, with atomic writes and no partial plaintext.

Output files are written through :func:`cnsec.fsutil.atomic_writer`: a temp file beside the target,
fsynced and renamed only when everything authenticated; on any failure the temp file is removed, so a
failed decrypt leaves no plaintext behind and an interrupted rewrap leaves the old or the new file.
Decrypted files are created ``0600``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from cnsec.data.crypto.errors import CryptoError
from cnsec.data.crypto.providers import KeyWrapper, Stanza, Unwrappers
from cnsec.data.crypto.stream import DEFAULT_CHUNK, Header, open_stream, rewrap_stream, seal_stream
from cnsec.errors import InputError, UsageError
from cnsec.fsutil import atomic_writer
from cnsec.model.source import Source


def _open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=0)
    except IsADirectoryError:
        raise InputError("is a directory", Source(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Source(path)) from None


def _same_file(a: str, b: str) -> bool:
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _with_source(exc: CryptoError, path: str) -> CryptoError:
    if exc.source is None:
        exc.source = Source(path)
    return exc


def encrypt_file(src_path: str, dst_path: str, wrappers: Sequence[KeyWrapper],
                 context: Mapping[str, str] | None = None, *, chunk_size: int = DEFAULT_CHUNK) -> Header:
    if _same_file(src_path, dst_path):
        raise UsageError("the output would overwrite the input", Source(dst_path))
    src = _open_input(src_path)
    try:
        length = os.fstat(src.fileno()).st_size if src_path != "-" and Path(src_path).is_file() else None
        if dst_path == "-":
            out = sys.stdout.buffer
            header = seal_stream(src, out, wrappers, context, chunk_size=chunk_size, length=length)
            out.flush()
            return header
        try:
            with atomic_writer(dst_path, "wb") as dst:
                return seal_stream(src, dst, wrappers, context,  # type: ignore[arg-type]
                                   chunk_size=chunk_size, length=length)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", Source(dst_path)) from None
    finally:
        if src is not sys.stdin.buffer:
            src.close()


def decrypt_file(src_path: str, dst_path: str, unwrappers: Unwrappers,
                 context: Mapping[str, str] | None = None) -> Header:
    """To ``-`` the plaintext streams as it is verified (a failure exits 2 after partial output)."""
    if _same_file(src_path, dst_path):
        raise UsageError("the output would overwrite the input", Source(dst_path))
    src = _open_input(src_path)
    try:
        if dst_path == "-":
            out = sys.stdout.buffer
            header = open_stream(src, out, unwrappers, context)
            out.flush()
            return header
        try:
            with atomic_writer(dst_path, "wb", perms=0o600) as dst:
                return open_stream(src, dst, unwrappers, context)  # type: ignore[arg-type]
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", Source(dst_path)) from None
    except CryptoError as exc:
        raise _with_source(exc, src_path) from None
    finally:
        if src is not sys.stdin.buffer:
            src.close()


def rewrap_file(path: str, unwrappers: Unwrappers,
                new_wrappers: Callable[[Header, Stanza], Sequence[KeyWrapper]]) -> tuple[Header, Header]:
    """Rewrite the header of ``path`` in place, atomically; the chunks are copied as they are."""
    src = _open_input(path)
    try:
        with atomic_writer(path, "wb") as dst:
            return rewrap_stream(src, dst, unwrappers, new_wrappers)  # type: ignore[arg-type]
    except CryptoError as exc:
        raise _with_source(exc, path) from None
    except OSError as exc:
        raise InputError(f"cannot rewrite: {exc.strerror}", Source(path)) from None
    finally:
        src.close()


def is_sealed_file(path: str) -> bool:
    from cnsec.data.crypto.stream import MAGIC

    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
