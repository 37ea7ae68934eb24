"""What to scan: files of a tree (``.gitignore``-aware), staged changes, or git history.

Every source yields *units*: a path plus either a file on disk or the added lines of a diff (with
their real line numbers and, for history, the commit). The scanner never follows a symlink out of
the tree, skips binaries and oversized files (reported in the stats, never silently), and reads
large files in chunks so memory stays flat.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnsec.errors import InputError, UsageError
from cnsec.model.source import Source

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
CHUNK_SIZE = 4 * 1024 * 1024
BINARY_SNIFF = 8192
ALWAYS_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass(slots=True)
class WalkStats:
    files: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_ignored: int = 0
    skipped_symlink: int = 0


@dataclass(frozen=True, slots=True)
class DiffUnit:
    """Added lines of one file in one diff: ``lines`` pairs each text with its real line number."""

    path: str
    lines: tuple[tuple[int, str], ...]
    commit: str | None = None


@dataclass(slots=True)
class _Ignore:
    base: str  # directory relative to root, "" for root
    spec: Any


@dataclass(slots=True)
class Walker:
    root: Path
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    respect_gitignore: bool = True
    excludes: tuple[str, ...] = ()
    stats: WalkStats = field(default_factory=WalkStats)
    #: Directories that could not be listed: reported, the walk goes on.
    problems: list[tuple[str, str]] = field(default_factory=list)

    def files(self) -> Iterator[tuple[str, str]]:
        """(relative path, absolute path) in a stable, sorted order."""
        root = self.root
        if root.is_file():
            yield str(root), str(root)
            self.stats.files += 1
            return
        if not root.is_dir():
            raise InputError("no such file or directory", Source(str(root)))
        real_root = os.path.realpath(root)
        exclude_spec = _spec(self.excludes) if self.excludes else None
        yield from self._walk(str(root), "", real_root, [], exclude_spec)

    def _walk(self, directory: str, rel: str, real_root: str, ignores: list[_Ignore],
              exclude_spec: Any) -> Iterator[tuple[str, str]]:
        if self.respect_gitignore:
            gi = os.path.join(directory, ".gitignore")
            if os.path.isfile(gi):
                try:
                    with open(gi, encoding="utf-8", errors="replace") as fh:
                        ignores = [*ignores, _Ignore(rel, _spec(fh.read().splitlines()))]
                except OSError:
                    pass
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.problems.append((rel or ".", f"cannot list directory: {exc.strerror}"))
            return
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            is_link = entry.is_symlink()
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in ALWAYS_SKIP_DIRS or self._ignored(child_rel + "/", ignores, exclude_spec):
                    self.stats.skipped_ignored += is_dir
                    continue
                yield from self._walk(entry.path, child_rel, real_root, ignores, exclude_spec)
                continue
            if is_link:
                target = os.path.realpath(entry.path)
                if not (target.startswith(real_root + os.sep) and os.path.isfile(target)):
                    self.stats.skipped_symlink += 1
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
            if self._ignored(child_rel, ignores, exclude_spec):
                self.stats.skipped_ignored += 1
                continue
            yield child_rel, entry.path

    @staticmethod
    def _ignored(rel: str, ignores: list[_Ignore], exclude_spec: Any) -> bool:
        if exclude_spec is not None and exclude_spec.match_file(rel):
            return True
        verdict = False
        for ig in ignores:
            sub = rel[len(ig.base) + 1:] if ig.base else rel
            result = ig.spec.check_file(sub)
            if result.include is not None:
                verdict = bool(result.include)
        return verdict


def _spec(lines: Any) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(lines))


def read_chunks(path: str, max_size: int) -> Iterator[tuple[int, bytes, int]] | str:
    """Yield (first line number, chunk, bytes that belong to the chunk) or return a skip reason.

    Chunks end on a line boundary; each carries up to 64 KiB of the following text so that a block
    spanning the boundary (a PEM key) is still seen whole by the chunk where it starts.
    """
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if size > max_size:
        return "large"
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    head = fh.read(BINARY_SNIFF)
    if b"\x00" in head:
        fh.close()
        return "binary"
    return _chunks(fh, head)


def _chunks(fh: Any, head: bytes) -> Iterator[tuple[int, bytes, int]]:
    with fh:
        buf = head + fh.read(max(0, CHUNK_SIZE - len(head)))
        lineno = 1
        while buf:
            more = fh.read(CHUNK_SIZE)
            if not more:
                yield lineno, buf, len(buf)
                return
            cut = buf.rfind(b"\n") + 1
            if cut == 0:  # one giant line: take the whole buffer and keep going
                buf += more
                continue
            lookahead = (buf[cut:] + more)[: 64 * 1024]
            yield lineno, buf[:cut] + lookahead, cut
            lineno += buf.count(b"\n", 0, cut)
            buf = buf[cut:] + more


# ---- git sources ---------------------------------------------------------------------------------

def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False, timeout=600)
    except FileNotFoundError:
        raise UsageError("git is not installed (needed for --staged/--history)") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}", Source(str(root)))
    return proc.stdout.decode("utf-8", "replace")


def staged_units(root: Path) -> list[DiffUnit]:
    """What ``git diff --cached`` adds: the pre-commit view."""
    out = _git(root, "diff", "--cached", "--unified=0", "--no-color", "--no-ext-diff", "--no-renames",
               "--diff-filter=ACMR")
    return list(parse_diff(out))


def history_units(root: Path, since: str | None) -> list[DiffUnit]:
    """Added lines of every commit after ``since`` (or all history), newest first, with commit ids."""
    rev = [f"{since}..HEAD"] if since else ["HEAD"]
    out = _git(root, "log", "-p", "--unified=0", "--no-color", "--no-ext-diff", "--no-renames",
               "--diff-filter=ACMR", "--format=%x00commit %H", *rev)
    units: list[DiffUnit] = []
    for block in out.split("\x00commit ")[1:]:
        sha, _, diff = block.partition("\n")
        units.extend(parse_diff(diff, commit=sha.strip()))
    return units


def parse_diff(text: str, commit: str | None = None) -> Iterator[DiffUnit]:
    path: str | None = None
    lines: list[tuple[int, str]] = []
    new_line = 0
    for raw in text.split("\n"):
        if raw.startswith("diff --git "):
            if path is not None and lines:
                yield DiffUnit(path, tuple(lines), commit)
            path, lines = None, []
        elif raw.startswith("+++ "):
            target = raw[4:]
            path = None if target == "/dev/null" else (target[2:] if target.startswith("b/") else target)
        elif raw.startswith("@@"):
            try:
                plus = raw.split("+", 1)[1].split(" ", 1)[0]
                new_line = int(plus.split(",", 1)[0])
            except (IndexError, ValueError):
                new_line = 0
        elif raw.startswith("+") and path is not None:
            lines.append((new_line, raw[1:]))
            new_line += 1
        elif raw.startswith(" "):
            new_line += 1
    if path is not None and lines:
        yield DiffUnit(path, tuple(lines), commit)
