"""Unpacking an uploaded tarball where nothing in it can reach outside, or exhaust the server.

A tarball is hostile until read: members named ``/etc/x`` or ``../../x``, links pointing out of the tree
(followed by the next member or by the reader), device files, and archives that unpack to far more
than they weigh. The member is refused, with the whole archive, on the first of these; nothing is ever
written outside the fresh temporary folder, which is removed on refusal.

* The archive is read once, as a stream (``r|``), through a reader that counts the *decompressed* bytes
  and stops at the budget — including the bytes ``tarfile`` itself reads for long-name and PAX headers,
  which it would otherwise load whole into memory.
* Regular files and folders are written (files 0600 with ``O_NOFOLLOW``, folders 0700); a hard link to
  an earlier member becomes a copy of it; a symbolic link that stays inside is not created (an
  assessment reads files, and a link not made is one that cannot be followed) and is reported; a link
  leading out, a device, a FIFO or any other kind refuses the archive.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Protocol

from cnsec.report.safe import one_line
from cnsec.serve.errors import ApiError

#: What an upload may unpack to: bytes of file content (and headers) and members.
MAX_BYTES = 1 << 30
MAX_MEMBERS = 50_000
MAX_NAME = 1024
CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Refused(ApiError):
    """The archive is hostile or too big: 400 (413 for the budget), nothing kept."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, f"upload refused: {message}", code="upload_refused" if status == 400 else None)


class _Budget:
    """A file object giving at most ``limit`` bytes of the stream under it, then :class:`Refused`."""

    def __init__(self, raw: Readable, limit: int) -> None:
        self.raw = raw
        self.left = limit
        self.limit = limit

    def read(self, size: int = -1, /) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        data = self.raw.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise Refused(f"it unpacks to more than {self.limit >> 20} MiB", 413)
        return data


def _decompressed(fileobj: IO[bytes]) -> Readable:
    head = fileobj.read(6)
    fileobj.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=fileobj, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(fileobj, "rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(fileobj, "rb")
    return fileobj


@dataclass(slots=True)
class Unpacked:
    root: str  # the temporary folder (remove it when done)
    top: str  # what to assess: root, or its one top-level folder (GitHub archives have one)
    files: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)


def _name(member: tarfile.TarInfo) -> str:
    raw = member.name
    if len(raw) > MAX_NAME or "\x00" in raw:
        raise Refused(f"member name {one_line(raw[:80])!r} is too long or holds NUL")
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise Refused(f"member {one_line(raw)!r} has an absolute path")
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Refused(f"member {one_line(raw)!r} climbs out with '..'")
    return "/".join(parts)


def _link_inside(name: str, target: str, symbolic: bool) -> str:
    """The link's target as a path inside the tree, or :class:`Refused` when it leads out."""
    if target.startswith("/") or "\x00" in target:
        raise Refused(f"link {one_line(name)!r} points out of the archive ({one_line(target)!r})")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target) if symbolic else target)
    if joined == ".." or joined.startswith("../"):
        raise Refused(f"link {one_line(name)!r} points out of the archive ({one_line(target)!r})")
    return joined


def _write(root: str, name: str, source: Readable | None) -> int:
    path = os.path.join(root, *name.split("/"))
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while source is not None:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
    return written


def unpack(fileobj: IO[bytes], *, max_bytes: int = MAX_BYTES, max_members: int = MAX_MEMBERS) -> Unpacked:
    """Unpack a tar (plain, gzip, bzip2 or xz) into a new temporary folder; :class:`Refused` otherwise."""
    root = tempfile.mkdtemp(prefix="cnsec-upload-")
    try:
        return _unpack(fileobj, root, max_bytes, max_members)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _unpack(fileobj: IO[bytes], root: str, max_bytes: int, max_members: int) -> Unpacked:
    budget = _Budget(_decompressed(fileobj), max_bytes)
    done = Unpacked(root, root)
    written: set[str] = set()
    members = 0
    try:
        archive = tarfile.open(fileobj=budget, mode="r|")  # type: ignore[call-overload]  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as exc:
        raise Refused(f"not a tar archive ({exc})") from None
    try:
        for member in archive:
            members += 1
            if members > max_members:
                raise Refused(f"more than {max_members} members")
            name = _name(member)
            if member.isdir() or not name:
                if name:
                    os.makedirs(os.path.join(root, *name.split("/")), mode=0o700, exist_ok=True)
                continue
            if member.isreg():
                done.bytes += _write(root, name, archive.extractfile(member))
                written.add(name)
            elif member.islnk():
                target = _link_inside(name, member.linkname, symbolic=False)
                if target not in written:
                    raise Refused(f"hard link {one_line(name)!r} to {one_line(member.linkname)!r}, "
                                  "not an earlier file of the archive")
                with open(os.path.join(root, *target.split("/")), "rb") as src:
                    done.bytes += _write(root, name, _Counted(src, budget))
                written.add(name)
            elif member.issym():
                _link_inside(name, member.linkname, symbolic=True)
                done.skipped.append(f"{name}: symbolic link not followed")
                continue
            else:
                kind = "device" if member.ischr() or member.isblk() else "FIFO" if member.isfifo() \
                    else f"type {member.type!r}"
                raise Refused(f"member {one_line(name)!r} is a {kind}, not a file or folder")
            done.files += 1
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise Refused(f"the archive is damaged or truncated ({exc})") from None
    finally:
        archive.close()
    entries = os.listdir(root)
    if len(entries) == 1 and os.path.isdir(os.path.join(root, entries[0])):
        done.top = os.path.join(root, entries[0])
    return done


class _Counted:
    """A copy of an earlier member (hard link) spends the budget too."""

    def __init__(self, raw: IO[bytes], budget: _Budget) -> None:
        self.raw, self.budget = raw, budget

    def read(self, size: int, /) -> bytes:
        data = self.raw.read(size)
        self.budget.left -= len(data)
        if self.budget.left < 0:
            raise Refused(f"it unpacks to more than {self.budget.limit >> 20} MiB", 413)
        return data
