"""Pipfile.lock: ``default`` and ``develop`` sections, each version written ``==X``."""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import KeyLines, LockfileFormat, Package, bad, load_json


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict):
        raise bad(path, 1, "Pipfile.lock is not a JSON object")
    lines = KeyLines(text)
    out = []
    for section in ("default", "develop"):
        deps = data.get(section) or {}
        if not isinstance(deps, dict):
            raise bad(path, None, f'"{section}" is not an object')
        for name, spec in deps.items():
            line = lines.take(name)
            version = spec.get("version") if isinstance(spec, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                out.append(Package("PyPI", name, version[2:], str(path), line))
    return out


FORMAT = LockfileFormat("pipfile", "PyPI", ("Pipfile.lock",), parse)
