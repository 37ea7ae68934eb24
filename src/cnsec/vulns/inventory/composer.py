"""composer.lock: ``packages`` and ``packages-dev``."""

from __future__ import annotations

import re
from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_json


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict):
        raise bad(path, 1, "composer.lock is not a JSON object")
    starts = {m.group(1): text.count("\n", 0, m.start()) + 1
              for m in re.finditer(r'"name":\s*"((?:[^"\\]|\\.)*)"', text)}
    out = []
    for section in ("packages", "packages-dev"):
        for pkg in data.get(section) or ():
            if isinstance(pkg, dict) and isinstance(pkg.get("name"), str) and isinstance(pkg.get("version"), str):
                version = pkg["version"]
                if version.startswith("dev-"):
                    continue  # a branch, not a release: nothing an advisory's range can name
                out.append(Package("Packagist", pkg["name"], version.removeprefix("v"), str(path),
                                   starts.get(pkg["name"])))
    if not out and not isinstance(data.get("packages"), list):
        raise bad(path, None, 'composer.lock has no "packages" list')
    return out


FORMAT = LockfileFormat("composer", "Packagist", ("composer.lock",), parse)
