"""yarn.lock, classic (v1) and berry: one block per resolved package, its header naming the specs."""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad

_VERSION = re.compile(r'^\s+"?version"?:?\s+"?([^"\s]+)"?\s*$')  # keys may be quoted: "version" "1.0.0"


def _name(spec: str) -> str:
    """The package a header spec installs: ``lodash@^4`` -> lodash, and for an alias
    ``alias@npm:real@^5`` (``"babel-hvi@npm:@babel/x@^7"``) the real package, whose advisories apply."""
    spec = spec.strip().strip('"').strip()
    at = spec.find("@", 1)  # a scoped name starts with '@'
    if at <= 0:
        return spec
    rest = spec[at + 1:]
    if rest.startswith("npm:") and rest.find("@", 5) > 0:
        return _name(rest[4:])
    return spec[:at]


def parse(path: Path, text: str) -> list[Package]:
    out: list[Package] = []
    header: tuple[str, int] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if not raw[0].isspace():
            if not raw.rstrip().endswith(":"):
                raise bad(path, n, "not a yarn.lock entry header (expected 'name@range:')")
            first = raw.rstrip()[:-1].split(",")[0]
            header = None if first.strip('"').startswith("__metadata") else (first, n)
            continue
        m = _VERSION.match(raw)
        if m and header is not None and raw.startswith("  ") and not raw.startswith("   "):
            spec = header[0]
            if "@workspace:" not in spec and "@link:" not in spec and "@file:" not in spec:
                out.append(Package("npm", _name(spec), m.group(1), str(path), header[1]))
            header = None
    return out


FORMAT = LockfileFormat("yarn", "npm", ("yarn.lock",), parse)
