"""poetry.lock (TOML ``[[package]]`` tables)."""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_toml, toml_package_lines


def parse_toml_packages(path: Path, text: str, ecosystem: str) -> list[Package]:
    data = load_toml(path, text)
    lines = toml_package_lines(text)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise bad(path, None, '"package" is not an array of tables')
    out = []
    for pkg in packages:
        if isinstance(pkg, dict) and isinstance(pkg.get("name"), str) and isinstance(pkg.get("version"), str):
            out.append(Package(ecosystem, pkg["name"], pkg["version"], str(path),
                               lines.get((pkg["name"], pkg["version"]))))
    return out


def parse(path: Path, text: str) -> list[Package]:
    return parse_toml_packages(path, text, "PyPI")


FORMAT = LockfileFormat("poetry", "PyPI", ("poetry.lock",), parse)
