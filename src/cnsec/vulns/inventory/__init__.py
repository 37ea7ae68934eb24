"""Inventory sources: one small module per lockfile format, found by discovery.

Each module in this package defines ``FORMAT = LockfileFormat(...)``: an id, the ecosystem, the file
names it reads and a ``parse(path, text)`` returning packages with their lines. Two modules with one id
is a programming error caught at discovery. OS package databases (dpkg, apk) are modules of the same
shape, found by the end of their path inside a root filesystem.
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

MAX_LOCKFILE_BYTES = 64 << 20  # a larger "lockfile" is refused, not read into memory
#: folders never walked: installed trees and VCS metadata, not lockfiles of the project
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox"})


@dataclass(frozen=True, slots=True)
class Package:
    ecosystem: str
    name: str
    version: str
    file: str
    line: int | None
    layer: str | None = None  # in an image: the layer that brought the package


@dataclass(frozen=True, slots=True)
class LockfileFormat:
    id: str
    ecosystem: str
    patterns: tuple[str, ...]  # file-name globs, matched case-sensitively
    parse: Callable[[Path, str], list[Package]]
    #: globs on the end of the path (``var/lib/dpkg/status``) for files whose name alone says nothing;
    #: when given, they decide instead of ``patterns``
    path_patterns: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def matches_path(self, path: PurePath) -> bool:
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


def format_for(path: PurePath) -> LockfileFormat | None:
    return next((f for f in formats().values() if f.matches_path(path)), None)


def discover(root: Path, unreadable: Callable[[OSError], object] | None = None,
             ) -> Iterator[tuple[Path, LockfileFormat]]:
    """Every lockfile under ``root`` (or ``root`` itself), in a stable order.

    A folder that cannot be listed goes to ``unreadable`` (``os.walk`` would skip it in silence). A root
    that is not a folder is yielded as a file even if it is a FIFO or device: the reader refuses it
    with its name instead of walking nothing.
    """
    if not root.is_dir():
        fmt = format_for(root) or _sniff(root)
        if fmt is not None:
            yield root, fmt
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            fmt = format_for(Path(dirpath) / name)
            if fmt is not None:
                yield Path(dirpath) / name, fmt


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


def bad(path: Path, line: int | None, message: str) -> Exception:
    from cnsec.errors import InputError
    from cnsec.model.source import Source

    return InputError(message, Source(str(path), line))
