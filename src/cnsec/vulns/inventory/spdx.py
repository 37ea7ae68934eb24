"""SPDX 2.x JSON SBOMs: packages with a ``purl`` external reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_json
from cnsec.vulns.inventory.cyclonedx import label, packages_from_purls


def _purls(packages: Any) -> Iterator[tuple[str | None, str]]:
    for pkg in packages if isinstance(packages, list) else ():
        if not isinstance(pkg, dict):
            continue
        refs = [ref["referenceLocator"] for ref in pkg.get("externalRefs") or ()
                if isinstance(ref, dict) and ref.get("referenceType") == "purl"
                and isinstance(ref.get("referenceLocator"), str)]
        if not refs:
            yield None, label(pkg, "versionInfo")
        for ref in refs:
            yield ref, ""


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict) or not str(data.get("spdxVersion", "")).startswith("SPDX-2"):
        raise bad(path, 1, 'not an SPDX 2 JSON document ("spdxVersion" missing)')
    return packages_from_purls(path, text, _purls(data.get("packages")), "SPDX package")


FORMAT = LockfileFormat("spdx", "", ("*.spdx.json",), parse)
