"""gradle.lockfile (and ``buildscript-gradle.lockfile``, and Gradle 6's per-configuration files under
``gradle/dependency-locks/``): one ``group:artifact:version=configurations`` line per resolved module.

``empty=...`` lists the configurations that resolved nothing; ``#`` starts a comment. Any other line
is reported with its line number and the rest of the file is still read.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, partly

_LINE = re.compile(r"^([^\s:=]+):([^\s:=]+):([^\s:=]+)(?:=.*)?$")


def parse(path: Path, text: str) -> list[Package]:
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("empty="):
            continue
        m = _LINE.match(line)
        if m is None:
            problems.append((n, f"not a gradle lock entry (expected group:artifact:version=configurations): "
                                f"{line[:80]!r}"))
            continue
        out.append(Package("Maven", f"{m.group(1)}:{m.group(2)}", m.group(3), str(path), n))
    return partly(out, problems)


FORMAT = LockfileFormat("gradle", "Maven", ("gradle.lockfile", "buildscript-gradle.lockfile"), parse,
                        path_patterns=("gradle.lockfile", "buildscript-gradle.lockfile",
                                       "gradle/dependency-locks/*.lockfile"))
