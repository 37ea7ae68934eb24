"""pip requirements files: only exact pins (``==``/``===``) name one version to match.

Lines are read as pip reads them: a line ending in ``\\`` continues on the next (joined without a space,
the trailing backslashes dropped, also at the end of the file), and comments are stripped after that.
``-r FILE`` / ``--requirement FILE`` includes are followed (relative to the including file, each file
once, so cycles end); their pins name the included file and its line. An include that is not there (or a
URL) is said as skipped. ``-c`` constraints only narrow what others require, and are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from cnsec.vulns.inventory import MAX_LOCKFILE_BYTES, LockfileFormat, Package, partly

_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's COMMENT_RE
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s=]))(\S+)")


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each logical line: pip's ``join_lines`` then ``ignore_comments``."""
    start, parts = 0, list[str]()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.endswith("\\") or _COMMENT.match(line):
            if parts:
                yield start, _COMMENT.sub("", "".join([*parts, line])).strip()
                parts = []
            else:
                yield n, _COMMENT.sub("", line).strip()
        else:
            start = start if parts else n
            parts.append(line.strip("\\"))
    if parts:
        yield start, _COMMENT.sub("", "".join(parts)).strip()


def parse(path: Path, text: str) -> list[Package]:
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    skipped: list[tuple[int | None, str]] = []
    _read(path, path, text, {path.resolve()}, out, problems, skipped)
    return partly(out, problems, skipped)


def _read(top: Path, path: Path, text: str, seen: set[Path], out: list[Package],
          problems: list[tuple[int | None, str]], skipped: list[tuple[int | None, str]]) -> None:
    """The pins of ``path``; a problem in an included file names that file and line in its message (the
    report's file:line is the top file's, where the scan started)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for n, line in logical_lines(text):
        include = _INCLUDE.match(line)
        if include is not None:
            _include(top, path, n, include.group(1), seen, out, problems, skipped)
            continue
        if not line or line.startswith("-") or "://" in line or line.startswith((".", "/")):
            continue  # options (-e, -c, --hash...), URLs and local paths name no index version
        try:
            req = Requirement(line.split(" --", 1)[0])
        except InvalidRequirement as exc:
            problems.append((n, f"not a requirement: {exc}") if path == top else
                            (None, f"{path}:{n}: not a requirement: {exc}"))
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if pins:
            out.append(Package("PyPI", req.name, pins[0], str(path), n))


def _include(top: Path, path: Path, line: int, target: str, seen: set[Path], out: list[Package],
             problems: list[tuple[int | None, str]], skipped: list[tuple[int | None, str]]) -> None:
    import os
    import stat

    at = line if path == top else None
    named = "" if path == top else f"{path}:{line}: "
    if "://" in target:
        skipped.append((at, f"{named}-r {target}: a remote requirements file is not fetched; its pins are "
                            "not read"))
        return
    child = Path(os.path.normpath(path.parent / target))
    if child.resolve() in seen:
        return  # read already (a cycle, or a second include of one file)
    seen.add(child.resolve())
    try:
        st = child.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_LOCKFILE_BYTES:
            raise OSError("not a regular file of a lockfile's size")
        text = child.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        skipped.append((at, f"{named}-r {target}: cannot be read ({reason}); its pins are not read"))
        return
    _read(top, child, text, seen, out, problems, skipped)


FORMAT = LockfileFormat("requirements", "PyPI", ("requirements*.txt", "*requirements.txt"), parse)
