"""Gemfile.lock: the ``specs:`` of the GEM (and GIT/PATH) sections, four spaces in."""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package

_SPEC = re.compile(r"^    ([^\s(]+) \(([^)]+)\)$")
_PLATFORM = re.compile(r"-(?:x86|x64|arm|aarch|java|jruby|mswin|mingw|darwin|universal|linux|musl|wasm)")


def parse(path: Path, text: str) -> list[Package]:
    out = []
    section = ""
    for n, raw in enumerate(text.splitlines(), 1):
        if raw and not raw[0].isspace():
            section = raw.strip()
            continue
        m = _SPEC.match(raw)
        if m and section in ("GEM", "GIT", "PATH"):
            version = m.group(2)
            platform = _PLATFORM.search(version)
            out.append(Package("RubyGems", m.group(1), version[:platform.start()] if platform else version,
                               str(path), n))
    return out


FORMAT = LockfileFormat("gemfile", "RubyGems", ("Gemfile.lock", "gems.locked"), parse)
