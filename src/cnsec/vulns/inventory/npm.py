"""package-lock.json v1 (nested ``dependencies``), v2 and v3 (flat ``packages``) and npm-shrinkwrap.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnsec.vulns.inventory import KeyLines, LockfileFormat, Package, bad, load_json


def _v1(path: Path, deps: Any, lines: KeyLines, out: list[Package]) -> None:
    if not isinstance(deps, dict):
        return
    for name, spec in deps.items():
        line = lines.take(name)
        if not isinstance(spec, dict):
            continue
        version = spec.get("version")
        if isinstance(version, str) and version.startswith("npm:"):  # an alias: "npm:real-name@1.2.3"
            at = version.find("@", 5)  # after "npm:" and a scoped name's own '@'
            name, version = (version[4:at], version[at + 1:]) if at > 0 else (name, version)
        if isinstance(version, str) and not version.startswith(("file:", "git", "http", "link:", "npm:")):
            out.append(Package("npm", name, version, str(path), line))
        _v1(path, spec.get("dependencies"), lines, out)


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict):
        raise bad(path, 1, "package-lock.json is not a JSON object")
    lines = KeyLines(text)
    out: list[Package] = []
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, spec in packages.items():
            line = lines.take(key)
            if not key or not isinstance(spec, dict) or spec.get("link") or "node_modules/" not in key:
                continue
            version = spec.get("version")
            alias = spec.get("name")
            name = alias if isinstance(alias, str) else key.rsplit("node_modules/", 1)[1]
            if isinstance(version, str) and version[:1].isdigit():
                out.append(Package("npm", name, version, str(path), line))
        return out
    _v1(path, data.get("dependencies"), lines, out)
    return out


FORMAT = LockfileFormat("npm", "npm", ("package-lock.json", "npm-shrinkwrap.json"), parse)
