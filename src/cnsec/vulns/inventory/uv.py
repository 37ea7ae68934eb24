"""uv.lock (TOML ``[[package]]`` tables with ``name``, ``version`` and ``source``).

The project itself and its workspace members are in the lockfile too, with a local source
(``{ editable = "." }``, ``{ virtual = "." }``, a ``directory`` or ``path``): they are the user's own code,
not a PyPI release, and are skipped. Registry and git packages are read; a registry package without a
version is an error with its line (a local one may have a dynamic version).
"""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, bad, load_toml, partly, toml_package_lines

_LOCAL_SOURCES = frozenset({"editable", "virtual", "directory", "path"})


def parse(path: Path, text: str) -> list[Package]:
    data = load_toml(path, text)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise bad(path, None, '"package" is not an array of tables')
    lines = toml_package_lines(text)  # the `name = ` line, as for poetry.lock and Cargo.lock
    headers = [n for n, raw in enumerate(text.splitlines(), 1) if raw.strip() == "[[package]]"]
    if len(headers) != len(packages):  # a "[[package]]" inside a string: no line rather than a wrong one
        headers = []
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    for n, pkg in enumerate(packages):
        if not isinstance(pkg, dict):
            continue
        source = pkg.get("source")
        if isinstance(source, dict) and _LOCAL_SOURCES & source.keys():
            continue  # the project or a workspace member: the user's own code
        name, version = pkg.get("name"), pkg.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            problems.append((headers[n] if headers else None, "a [[package]] without a name and version"))
            continue
        out.append(Package("PyPI", name, version, str(path), lines.get((name, version))))
    return partly(out, problems)


FORMAT = LockfileFormat("uv", "PyPI", ("uv.lock",), parse)
