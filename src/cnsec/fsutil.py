"""File writes that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = True,
                  perms: int | None = None) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success fsync and rename it over ``path``.

    On any exception the temp file is removed and ``path`` is untouched, so a reader (or a crash
    in the middle of a rewrap) only ever sees the old file or the complete new one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        if perms is not None:
            os.fchmod(fd, perms)
        elif target.exists():
            os.fchmod(fd, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
        if fsync:
            with contextlib.suppress(OSError):
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_writer(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | Iterable[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or pieces written in order) to ``path`` atomically."""
    with atomic_writer(path, "wb") as handle:
        if isinstance(data, bytes):
            handle.write(data)
        else:
            for piece in data:
                handle.write(piece)


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (a folder, or a file in a
    worktree): where a project's configuration and the base of its stable ids are looked for."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def id_base(targets: Iterable[str]) -> Path | None:
    """The folder that file-derived ids (``Image/<path>``) are made relative to, so they do not
    depend on where the command was run from or how the inputs were named: the repository root of
    the inputs, else (outside a repository) the inputs' common folder. ``None`` when there is no
    file input (stdin only).
    """
    folders = []
    for target in targets:
        if target == "-" or not target or not os.path.exists(target):
            continue
        path = Path(target).resolve()
        folders.append(path if path.is_dir() else path.parent)
    if not folders:
        return None
    roots = {repository_root(f) for f in folders}
    if len(roots) == 1 and None not in roots:
        return roots.pop()
    return Path(os.path.commonpath(folders))
