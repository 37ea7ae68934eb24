"""go.mod: ``require`` lines and blocks, with ``replace`` applied (the module actually built).

Before Go 1.17 a go.mod lists only the direct requirements; the indirect ones are only in go.sum. For
such a module (``go 1.16`` or older) the go.sum beside it is read too, as Trivy does: each module with a
source hash (``h1:`` on the module, not only on its ``/go.mod``) at the highest version listed, which is
the one minimal version selection builds, unless go.mod names it. Without a go.sum the indirect
dependencies cannot be known: that is said (skipped, with the ``go`` line), not passed over.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad, partly

_REQ = re.compile(r"^(\S+)\s+(v\S+)$")
_GO = re.compile(r"^go\s+(\d+)\.(\d+)")
#: every directive of the go.mod reference; another word is a typo or not a go.mod (said, not skipped)
_DIRECTIVES = frozenset({"module", "go", "toolchain", "godebug", "require", "replace", "exclude", "retract",
                         "tool", "ignore"})
_SUM = re.compile(r"^(\S+)\s+(v\S+)\s+h1:")  # a module's own hash: its source was needed
_REPLACE = re.compile(r"^(\S+)(?:\s+(v\S+))?\s+=>\s+(\S+)(?:\s+(v\S+))?$")


def parse(path: Path, text: str) -> list[Package]:
    reqs: list[tuple[str, str, int]] = []
    replaces: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    block: str | None = None
    problems: list[tuple[int | None, str]] = []
    go: tuple[int, int, int] | None = None  # (major, minor, line) of the `go` directive
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is None and (g := _GO.match(line)):
            go = (int(g.group(1)), int(g.group(2)), n)
        if block is not None:
            if line == ")":
                block = None
                continue
            body = line
        else:
            verb, _, body = line.removesuffix("(").partition(" ") if line.endswith("(") else line.partition(" ")
            body = "(" if line.endswith("(") else body.strip()
            if verb not in _DIRECTIVES:
                problems.append((n, f"not a go.mod directive: {verb!r}"))
                continue
            if body == "(":
                block = verb
                continue
            if verb not in ("require", "replace"):
                continue
            block_verb = verb
            _handle(path, n, block_verb, body, reqs, replaces)
            continue
        _handle(path, n, block, body, reqs, replaces)
    if block is not None:
        raise bad(path, None, f"unterminated '{block} (' block")
    out = [Package("Go", mod, ver, str(path), n) for mod, ver, n in reqs]
    skipped: list[tuple[int | None, str]] = []
    if go is not None and go[:2] < (1, 17):
        total = path.with_name("go.sum")
        if total.is_file():
            named = {mod for mod, _, _ in reqs}
            out += [p for p in _go_sum(total) if p.name not in named]
        else:
            skipped.append((go[2], f"go {go[0]}.{go[1]} module without a go.sum beside it: its indirect "
                                   "dependencies (listed only in go.sum before Go 1.17) are not known"))
    built = []
    for pkg in out:
        new = replaces.get((pkg.name, pkg.version)) or replaces.get((pkg.name, None))
        if new is not None:
            if new[1] is None:
                continue  # replaced by a local directory: no published version to match
            pkg = Package("Go", new[0], new[1], pkg.file, pkg.line)
        built.append(pkg)
    return partly(built, problems, skipped)


def _go_sum(path: Path) -> list[Package]:
    """Each module of a go.sum with a source hash, at its highest version (with that line)."""
    from cnsec.vulns.versions import VersionError, parser_for

    version_of = parser_for("Go")
    best: dict[str, tuple[object, str, int]] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        m = _SUM.match(raw.strip())
        if m is None:
            continue
        try:
            key = version_of(m.group(2))
        except VersionError:
            continue  # not a semantic version: go would not have written it
        old = best.get(m.group(1))
        if old is None or old[0] < key:  # type: ignore[operator]
            best[m.group(1)] = (key, m.group(2), n)
    return [Package("Go", mod, ver, str(path), n) for mod, (_, ver, n) in best.items()]


def _handle(path: Path, n: int, verb: str, body: str, reqs: list[tuple[str, str, int]],
            replaces: dict[tuple[str, str | None], tuple[str, str | None]]) -> None:
    if verb == "require":
        m = _REQ.match(body)
        if m is None:
            raise bad(path, n, f"not a 'module version' requirement: {body!r}")
        reqs.append((m.group(1), m.group(2), n))
    elif verb == "replace":
        r = _REPLACE.match(body)
        if r is None:
            raise bad(path, n, f"not a 'module => replacement' directive: {body!r}")
        replaces[(r.group(1), r.group(2))] = (r.group(3), r.group(4))


FORMAT = LockfileFormat("gomod", "Go", ("go.mod",), parse)
