"""CycloneDX JSON SBOMs: every component (nested ones too) named by a purl."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_json
from cnsec.vulns.inventory._purl import PurlError
from cnsec.vulns.inventory._purl import parse as parse_purl

_PURL_LINE = re.compile(r'"(?:purl|referenceLocator)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def purl_lines(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in _PURL_LINE.finditer(text):
        out.setdefault(m.group(1), text.count("\n", 0, m.start()) + 1)
    return out


def packages_from_purls(path: Path, text: str, purls: Iterator[str]) -> list[Package]:
    lines = purl_lines(text)
    out = []
    for purl in purls:
        try:
            parsed = parse_purl(purl)
        except PurlError as exc:
            raise bad(path, lines.get(purl), str(exc)) from None
        out.append(Package(*parsed, str(path), lines.get(purl)))
    return out


def _components(items: Any) -> Iterator[str]:
    for comp in items if isinstance(items, list) else ():
        if isinstance(comp, dict):
            if isinstance(comp.get("purl"), str):
                yield comp["purl"]
            yield from _components(comp.get("components"))


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise bad(path, 1, 'not a CycloneDX JSON SBOM ("bomFormat": "CycloneDX" missing)')
    # metadata.component is the subject of the SBOM (the application itself), not one of its dependencies
    return packages_from_purls(path, text, _components(data.get("components")))


FORMAT = LockfileFormat("cyclonedx", "", ("*.cdx.json", "bom.json", "*.bom.json"), parse)
