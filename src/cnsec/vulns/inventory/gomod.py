"""go.mod: ``require`` lines and blocks, with ``replace`` applied (the module actually built)."""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad

_REQ = re.compile(r"^(\S+)\s+(v\S+)$")
_REPLACE = re.compile(r"^(\S+)(?:\s+(v\S+))?\s+=>\s+(\S+)(?:\s+(v\S+))?$")


def parse(path: Path, text: str) -> list[Package]:
    reqs: list[tuple[str, str, int]] = []
    replaces: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    block: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
                continue
            body = line
        else:
            verb, _, body = line.partition(" ")
            body = body.strip()
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
    out = []
    for mod, ver, n in reqs:
        new = replaces.get((mod, ver)) or replaces.get((mod, None))
        if new is not None:
            if new[1] is None:
                continue  # replaced by a local directory: no published version to match
            mod, ver = new[0], new[1]
        out.append(Package("Go", mod, ver, str(path), n))
    return out


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
