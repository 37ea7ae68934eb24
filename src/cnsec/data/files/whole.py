"""Whole-file encryption: sealed streams between files, with atomic writes and no partial plaintext.

Output files are written through :func:`cnsec.fsutil.atomic_writer`: a temp file beside the target,
fsynced and renamed only when everything authenticated; on any failure the temp file is removed, so a
failed decrypt leaves no plaintext behind and an interrupted rewrap leaves the old or the new file.
Decrypted files are created ``0600``. A decrypting process holds a lock on its temp file; a temp file
of ours that nobody holds (its writer was killed with ``kill -9``, so no cleanup ran) is plaintext
left behind, and the next decrypt to the same output removes it and says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

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


@contextlib.contextmanager
def plaintext_writer(dst_path: str, mode: str) -> Iterator[IO[Any]]:
    """``atomic_writer`` for plaintext: ``0600``, stale temps of an interrupted write removed first,
    and its own temp held (locked) while it lives so a concurrent decrypt never removes it."""
    clean_stale_temps(dst_path)
    with atomic_writer(dst_path, mode, perms=0o600) as handle:
        _hold_temp(handle)
        yield handle


def _hold_temp(handle: IO[Any]) -> None:
    """Mark a temp file as in use for as long as this process lives (the lock dies with it)."""
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def clean_stale_temps(dst_path: str) -> list[str]:
    """Remove the temp files an interrupted write to ``dst_path`` left: ours (same owner, the
    ``atomic_writer`` name beside it), regular files, and held by no live process. Returns them."""
    target = Path(dst_path)
    directory = target.parent if str(target.parent) else Path(".")
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(directory) if n.startswith(f".{target.name}.") and n.endswith(".tmp")]
    except OSError:
        return removed
    for name in names:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live decrypt is writing it
            os.unlink(path)
            removed.append(str(path))
            print(f"cnsec: removed {path}: a temp file left by an interrupted write", file=sys.stderr)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


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
            with plaintext_writer(dst_path, "wb") as dst:
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
