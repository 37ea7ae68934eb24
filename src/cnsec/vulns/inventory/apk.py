"""Alpine: the apk database of a root filesystem (``lib/apk/db/installed``).

Records are blank-line separated ``K:value`` lines (``P`` package, ``V`` version, ``o`` origin, the
source package). Alpine's secdb and OSV name the origin, so packages are matched under it.
"""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package
from cnsec.vulns.inventory._osrelease import ecosystem


def parse(path: Path, text: str) -> list[Package]:
    root = path.parents[3] if len(path.parents) > 3 else Path(".")  # …/lib/apk/db/installed
    eco = ecosystem(root, "apk")
    out: list[Package] = []
    record: dict[str, str] = {}
    start = 1
    for n, line in enumerate([*text.splitlines(), ""], 1):
        if not line.strip():
            if record.get("P") and record.get("V"):
                out.append(Package(eco, record.get("o") or record["P"], record["V"], str(path), start))
            record = {}
            continue
        if not record:
            start = n
        if len(line) > 2 and line[1] == ":":
            record.setdefault(line[0], line[2:].strip())
    return out


FORMAT = LockfileFormat("apk", "Alpine", (), parse, path_patterns=("lib/apk/db/installed",))
