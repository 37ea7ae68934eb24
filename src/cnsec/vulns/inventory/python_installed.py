"""Python packages installed in a root filesystem or image: each distribution's ``METADATA``
(``site-packages/NAME-VERSION.dist-info/METADATA``, and ``dist-packages`` on Debian and Ubuntu) and the
older ``.egg-info/PKG-INFO``.

Images of Python applications rarely carry a lockfile: what pip installed is what runs, and its record
is this file. The ``Name`` and ``Version`` headers are read (the header block ends at the first blank
line; the long description after it is never parsed). A project's own virtual environments are not
walked (``.venv`` is skipped): there its lockfile speaks for it.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package


def parse(path: Path, text: str) -> list[Package]:
    fields: dict[str, tuple[str, int]] = {}
    for n, header in enumerate(text.splitlines(), 1):
        if not header.strip():
            break  # the headers end here; the description follows
        key, sep, value = header.partition(":")
        if sep and key in ("Name", "Version") and key not in fields:
            fields[key] = (value.strip(), n)
    if "Name" not in fields or "Version" not in fields:
        return []
    name, where = fields["Name"]
    # PEP 503's separators, as requirement files and purls write the name (demo_pkg is demo-pkg)
    return [Package("PyPI", re.sub(r"[-_.]+", "-", name), fields["Version"][0], str(path), where)]


FORMAT = LockfileFormat("python-installed", "PyPI", (), parse, path_patterns=(
    "site-packages/*.dist-info/METADATA", "dist-packages/*.dist-info/METADATA",
    "site-packages/*.egg-info/PKG-INFO", "dist-packages/*.egg-info/PKG-INFO"))
