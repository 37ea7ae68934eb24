"""CycloneDX JSON SBOMs: every component (nested ones too) named by a purl."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_json, partly
from cnsec.vulns.inventory._purl import PurlError
from cnsec.vulns.inventory._purl import parse as parse_purl

_PURL_LINE = re.compile(r'"(?:purl|referenceLocator)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def purl_lines(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in _PURL_LINE.finditer(text):
        out.setdefault(m.group(1), text.count("\n", 0, m.start()) + 1)
    return out


def packages_from_purls(path: Path, text: str, entries: Iterator[tuple[str | None, str]],
                        kind: str = "component") -> list[Package]:
    """A package per ``(purl, label)`` entry. An entry without a purl has no ecosystem to be matched in:
    it is said as skipped (``kind`` and its label, ``name version``), not dropped in silence."""
    lines = purl_lines(text)
    out = []
    unnamed: list[str] = []
    for purl, label in entries:
        if purl is None:
            unnamed.append(label)
            continue
        try:
            parsed = parse_purl(purl)
        except PurlError as exc:
            raise bad(path, lines.get(purl), str(exc)) from None
        out.append(Package(*parsed, str(path), lines.get(purl)))
    if not unnamed:
        return out
    shown = ", ".join(unnamed[:5]) + (f" and {len(unnamed) - 5} more" if len(unnamed) > 5 else "")
    return partly(out, [], [(None, f"{len(unnamed)} {kind}(s) without a package URL (purl), so without an "
                                   f"ecosystem to be matched in: {shown}")])


def label(entry: dict[str, Any], version_key: str) -> str:
    name, version = entry.get("name"), entry.get(version_key)
    return (name if isinstance(name, str) else "(unnamed)") + (f" {version}" if isinstance(version, str) else "")


def _components(items: Any) -> Iterator[tuple[str | None, str]]:
    for comp in items if isinstance(items, list) else ():
        if isinstance(comp, dict):
            purl = comp.get("purl")
            yield (purl if isinstance(purl, str) else None), label(comp, "version")
            yield from _components(comp.get("components"))


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise bad(path, 1, 'not a CycloneDX JSON SBOM ("bomFormat": "CycloneDX" missing)')
    # metadata.component is the subject of the SBOM (the application itself), not one of its dependencies
    return packages_from_purls(path, text, _components(data.get("components")))


FORMAT = LockfileFormat("cyclonedx", "", ("*.cdx.json", "bom.json", "*.bom.json"), parse)
