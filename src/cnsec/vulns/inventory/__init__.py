"""Inventory sources: one small module per lockfile format, found by discovery.

Each module in this package defines ``FORMAT = LockfileFormat(...)``: an id, the ecosystem, the file
names it reads and a ``parse(path, text)`` returning packages with their lines. Two modules with one id
is a programming error caught at discovery. OS package databases (dpkg, apk, rpm) are modules of the same
shape, found by the end of their path inside a root filesystem.

Binary sources (the sqlite rpmdb, jars, Go executables) give ``read(path, handle)`` instead of ``parse``:
the handle is seekable and each reader bounds what it reads. What is *installed* rather than locked
(``node_modules/*/package.json``, jars, Go executables) is read only in a root filesystem (a folder with
``etc/os-release`` or ``usr/lib/os-release``) or an image, or when named on the command line: a
project's ``node_modules`` is a build by-product its lockfile speaks for.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO

MAX_LOCKFILE_BYTES = 64 << 20  # a larger "lockfile" is refused, not read into memory
#: folders never walked: installed trees and VCS metadata, not lockfiles of the project
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox"})
#: in a root filesystem what is installed counts: only VCS metadata and caches are left out
ROOTFS_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
#: the kernel's folders at the top of a live root filesystem (``cnsec vulns /``): no packages, endless files
LIVE_DIRS = frozenset({"proc", "sys", "dev"})
ROOTFS_MARKERS = ("etc/os-release", "usr/lib/os-release")


@dataclass(frozen=True, slots=True)
class Package:
    ecosystem: str
    name: str
    version: str
    file: str
    line: int | None
    layer: str | None = None  # in an image: the layer that brought the package
    #: the package URL when the source records more than ecosystem, name and version (an rpm's epoch,
    #: arch and distribution); ``None``: built from those three
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class LockfileFormat:
    id: str
    ecosystem: str
    patterns: tuple[str, ...]  # file-name globs, matched case-sensitively
    parse: Callable[[Path, str], list[Package]]
    #: globs on the end of the path (``var/lib/dpkg/status``) for files whose name alone says nothing;
    #: when given, they decide instead of ``patterns``
    path_patterns: tuple[str, ...] = ()
    #: a binary reader (a seekable handle; it bounds its own reading): used instead of ``parse``
    read: Callable[[Path, IO[bytes]], list[Package]] | None = None
    #: installed software, read only in root filesystems, images and files named on the command line
    installed: bool = False
    #: a predicate on the POSIX path, deciding instead of the globs (``node_modules/NAME/package.json``
    #: at any depth, but not a ``package.json`` deeper inside a package); ``patterns`` then still name
    #: the files it can accept, so that other files are not offered to it
    path_match: Callable[[str], bool] | None = None
    #: found by content: an executable regular file whose first bytes are these (ELF) is offered
    magic: bytes | None = None
    #: the packages depend on the file alone (not on os-release): an image reader reads it as its layer
    #: streams by and keeps only the packages (a 200 MB binary is never held in memory)
    self_contained: bool = False
    #: the largest file read (a binary reader reads only the parts it needs of a larger file)
    max_bytes: int = MAX_LOCKFILE_BYTES

    def matches(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def matches_path(self, path: PurePath) -> bool:
        if self.path_match is not None:
            return self.path_match(path.as_posix())
        if not self.path_patterns:
            return self.matches(path.name)
        posix = path.as_posix()
        return any(fnmatch.fnmatchcase(posix, p) or fnmatch.fnmatchcase(posix, "*/" + p)
                   for p in self.path_patterns)


_FORMATS: dict[str, LockfileFormat] | None = None


def formats() -> dict[str, LockfileFormat]:
    global _FORMATS
    if _FORMATS is None:
        found: dict[str, LockfileFormat] = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            fmt = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FORMAT", None)
            if not isinstance(fmt, LockfileFormat):
                continue
            if fmt.id in found:
                raise RuntimeError(f"two lockfile formats with the id {fmt.id!r} ({info.name})")
            found[fmt.id] = fmt
        _FORMATS = found
    return _FORMATS


class _Lookup:
    """The formats that could read a file, from its name and its folder's name: a root filesystem has
    100,000 files or more, and trying every format's globs on each is most of a scan's time. Each glob
    keys the last path component it needs (``status.d/*`` keys the folder); what this finds is then
    decided by :meth:`LockfileFormat.matches_path` as before, in discovery order."""

    def __init__(self, found: dict[str, LockfileFormat]) -> None:
        self.source = found
        self.order = {f.id: n for n, f in enumerate(found.values())}
        self.names: dict[str, list[LockfileFormat]] = {}
        self.folders: dict[str, list[LockfileFormat]] = {}
        globs: list[tuple[str, LockfileFormat]] = []
        for fmt in found.values():
            for pattern in fmt.patterns + fmt.path_patterns:
                *folders, last = pattern.split("/")
                if last == "*" and folders and not _GLOB.search(folders[-1]):
                    self.folders.setdefault(folders[-1], []).append(fmt)
                elif _GLOB.search(last):
                    globs.append((last, fmt))
                else:
                    self.names.setdefault(last, []).append(fmt)
        self.globs = [(re.compile(fnmatch.translate(g)), fmt) for g, fmt in globs]
        self.any_glob = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g, _ in globs) or r"(?!)")

    def candidates(self, name: str, folder: str) -> list[LockfileFormat]:
        """The formats that could read a file called ``name`` in a folder called ``folder``."""
        found = [*self.names.get(name, ()), *self.folders.get(folder, ())]
        if self.any_glob.match(name):
            found += [fmt for rx, fmt in self.globs if rx.match(name)]
        return sorted(set(found), key=lambda f: self.order[f.id]) if len(found) > 1 else found


_GLOB = re.compile(r"[*?\[]")
_LOOKUP: _Lookup | None = None


def _lookup() -> _Lookup:
    global _LOOKUP
    if _LOOKUP is None or _LOOKUP.source is not formats():
        _LOOKUP = _Lookup(formats())
    return _LOOKUP


def _decide(candidates: list[LockfileFormat], path: PurePath, installed: bool) -> LockfileFormat | None:
    return next((f for f in candidates if (installed or not f.installed) and f.matches_path(path)), None)


def format_for(path: PurePath, installed: bool = True) -> LockfileFormat | None:
    """The format reading ``path`` by its name; ``installed=False`` leaves out installed software
    (a project scan)."""
    return _decide(_lookup().candidates(path.name, path.parent.name), path, installed)


def format_by_content(head: bytes) -> LockfileFormat | None:
    """The format of an executable whose first bytes are ``head`` (a Go binary is an ELF file)."""
    return next((f for f in formats().values() if f.magic is not None and head.startswith(f.magic)), None)


def is_rootfs(root: Path) -> bool:
    """A root filesystem: a folder with an ``os-release`` where a distribution puts it."""
    return root.is_dir() and any(os.path.lexists(root / m) for m in ROOTFS_MARKERS)


def _executable(path: str | Path, named: bool = False) -> LockfileFormat | None:
    """The format of an executable regular file found by its content, never following a link; a file
    ``named`` on the command line need not be executable (a binary copied out of an image often is not)."""
    import stat

    try:
        st = os.stat(path) if named else os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or not (named or st.st_mode & 0o111) or st.st_size < 64:
            return None
        with open(path, "rb") as fh:
            return format_by_content(fh.read(16))
    except OSError:
        return None  # unreadable executables are not package sources we were asked about


def discover(root: Path, unreadable: Callable[[OSError], object] | None = None,
             skip: frozenset[Path] = frozenset()) -> Iterator[tuple[Path, LockfileFormat]]:
    """Every lockfile under ``root`` (or ``root`` itself), in a stable order; in a root filesystem
    (:func:`is_rootfs`) also what is installed (``node_modules``, jars, Go executables), and the
    kernel's ``proc``, ``sys`` and ``dev`` at its top are not entered, and symbolic links are not followed
    (an absolute one would read the host's file). Folders in ``skip`` (absolute paths) are not walked.

    A folder that cannot be listed goes to ``unreadable`` (``os.walk`` would skip it in silence). A root
    that is not a folder is yielded as a file even if it is a FIFO or device: the reader refuses it
    with its name instead of walking nothing.
    """
    if not root.is_dir():
        fmt = format_for(root) or _sniff(root) or _executable(root, named=True)
        if fmt is not None:
            yield root, fmt
        return
    rootfs = is_rootfs(root)
    skip_dirs = ROOTFS_SKIP_DIRS if rootfs else SKIP_DIRS
    lookup = _lookup()
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(dirpath)
        top = rootfs and here == root
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not (top and d in LIVE_DIRS)
                             and not (skip and Path(os.path.abspath(os.path.join(dirpath, d))) in skip))
        for name in sorted(filenames):  # names first: a Path is made only for a file something may read
            candidates = lookup.candidates(name, here.name)
            fmt = _decide(candidates, here / name, rootfs) if candidates else None
            if fmt is not None and rootfs and os.path.islink(os.path.join(dirpath, name)):
                continue  # in a root filesystem a link points into the host's tree (/usr/...): its target,
                # when it is inside, is read under its own name
            if fmt is None and rootfs:
                fmt = _executable(os.path.join(dirpath, name))
            if fmt is not None:
                yield here / name, fmt


_SBOM_MARKS = ((re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"'), "cyclonedx"),
                (re.compile(rb'"spdxVersion"\s*:\s*"SPDX-2'), "spdx"))


def _sniff(path: Path) -> LockfileFormat | None:
    """The format of a JSON SBOM named on the command line under a name of its own choosing
    (``centos-7-cyclonedx.json``): told by its first 64 KiB. Only for a path the user named — a folder
    walk goes by file names — and only for a regular file (a FIFO would block the read)."""
    import stat

    try:
        if path.suffix.lower() != ".json" or not stat.S_ISREG(path.stat().st_mode):
            return None
        with path.open("rb") as f:
            head = f.read(64 << 10)
    except OSError:
        return None
    return next((formats()[fmt] for mark, fmt in _SBOM_MARKS if mark.search(head)), None)


_JSON_OBJECT_KEY = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:\s*\{', re.MULTILINE)


class KeyLines:
    """Where each ``"key": {`` of a JSON document starts, consumed in document order.

    JSON objects load in document order, so a walk of the loaded data meets a repeated key (the same
    package nested twice in package-lock v1) in the same order as this scan: one pass, no search per
    package.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[str, list[int]] = {}
        line, pos = 1, 0
        for m in _JSON_OBJECT_KEY.finditer(text):
            line += text.count("\n", pos, m.start(1))
            pos = m.start(1)
            self._lines.setdefault(m.group(1), []).append(line)
        for lines in self._lines.values():
            lines.reverse()

    def take(self, key: str) -> int | None:
        lines = self._lines.get(key)
        return lines.pop() if lines else None


def load_json(path: Path, text: str) -> object:
    import json

    from cnsec.errors import InputError
    from cnsec.model.source import Source

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", Source(str(path), exc.lineno)) from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply)", Source(str(path))) from None


def load_toml(path: Path, text: str) -> dict[str, object]:
    import tomllib

    from cnsec.errors import InputError
    from cnsec.model.source import Source

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(f"not valid TOML: {exc}", Source(str(path), int(m.group(1)) if m else None)) from None


def toml_package_lines(text: str) -> dict[tuple[str, str], int]:
    """(name, version) -> line of ``name = ...`` in the ``[[package]]`` tables of poetry.lock/Cargo.lock."""
    out: dict[tuple[str, str], int] = {}
    name: tuple[str, int] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line == "[[package]]":
            name = None
        elif line.startswith("name = ") and name is None:
            name = (line[7:].strip().strip('"'), n)
        elif line.startswith("version = ") and name is not None:
            out.setdefault((name[0], line[10:].strip().strip('"')), name[1])
    return out


class PartlyRead(Exception):
    """Some lines of a lockfile could not be read: the packages of the others, and each bad line's
    problem (line, message). Raised instead of a plain input error by formats that read line by line,
    so one bad line costs that line, not the file (the rest is still matched and the line reported).

    ``skipped``: entries that are not errors but name no version to match (a pom.xml dependency whose
    version comes from a parent POM that is not here): reported as skipped in every output format, not
    an exit 2. A format raises this with ``problems`` empty when it only has such entries.
    """

    def __init__(self, packages: list[Package], problems: list[tuple[int | None, str]],
                 skipped: list[tuple[int | None, str]] | None = None) -> None:
        super().__init__(f"{len(problems)} unreadable line(s), {len(skipped or ())} skipped")
        self.packages = packages
        self.problems = problems
        self.skipped = skipped or []


def partly(packages: list[Package], problems: list[tuple[int | None, str]],
           skipped: list[tuple[int | None, str]] | None = None) -> list[Package]:
    """``packages``, or :class:`PartlyRead` when some entries were unreadable or skipped."""
    if problems or skipped:
        raise PartlyRead(packages, problems, skipped)
    return packages


def binary_only(path: Path, text: str) -> list[Package]:
    """The ``parse`` of a format read by ``read`` from bytes: never called for it."""
    raise TypeError(f"{path} is read as bytes, not as text")


class Unsupported(Exception):
    """A package database in a format cnsec does not read (rpm's Berkeley DB and ndb): reported as
    skipped with this message, never read as empty."""


def bad(path: Path, line: int | None, message: str) -> Exception:
    from cnsec.errors import InputError
    from cnsec.model.source import Source

    return InputError(message, Source(str(path), line))
