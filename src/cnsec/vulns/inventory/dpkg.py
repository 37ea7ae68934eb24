"""Debian and Ubuntu: the dpkg database of a root filesystem (``var/lib/dpkg/status``, and the
``var/lib/dpkg/status.d/`` files distroless images carry instead).

Debian's advisories name *source* packages (one fix of openssl covers libssl3 and openssl), so each
installed binary package is matched under its ``Source:`` name and version (the binary's own when it
has none), as Trivy and osv-scanner do. Only packages whose status is ``installed`` count: removed
ones leave ``config-files`` paragraphs behind.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package
from cnsec.vulns.inventory._osrelease import ecosystem

_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?$")


def _root(path: Path) -> Path:
    """The root filesystem holding ``path`` (…/var/lib/dpkg/status or …/var/lib/dpkg/status.d/NAME)."""
    parts = path.parts
    i = max(i for i in range(len(parts) - 2) if parts[i:i + 3] == ("var", "lib", "dpkg"))
    return Path(*parts[:i]) if i else Path(".")


def parse(path: Path, text: str) -> list[Package]:
    eco = ecosystem(_root(path), "deb")
    out: list[Package] = []
    fields: dict[str, str] = {}
    start = 1
    key = ""

    def flush() -> None:
        status = fields.get("Status", "install ok installed" if path.parent.name == "status.d" else "")
        if fields.get("Package") and fields.get("Version") and status.split()[-1:] == ["installed"]:
            name, version = fields["Package"], fields["Version"]
            m = _SOURCE.match(fields.get("Source", "").strip())
            if m:
                name, version = m.group(1), m.group(2) or version
            out.append(Package(eco, name, version, str(path), start))

    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if fields:
                flush()
            fields, key = {}, ""
            continue
        if line[0] in " \t":
            continue  # a continuation line (Description, Conffiles): nothing we read spans lines
        if not fields:
            start = n
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    if fields:
        flush()
    return out


FORMAT = LockfileFormat("dpkg", "Debian", (), parse,
                        path_patterns=("var/lib/dpkg/status", "var/lib/dpkg/status.d/*"))
