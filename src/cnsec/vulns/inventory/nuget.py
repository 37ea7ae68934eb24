"""NuGet packages.lock.json, versions 1 and 2: ``dependencies`` per target framework, each package with
its ``resolved`` version.

A package resolved alike for several frameworks (net6.0 and net8.0) is one package; resolved
differently, one per version. Project references (``"type": "Project"``) are the solution's own code
and are skipped. Another ``version`` is refused: its layout is not known.
"""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import KeyLines, LockfileFormat, Package, bad, load_json, partly


def parse(path: Path, text: str) -> list[Package]:
    data = load_json(path, text)
    if not isinstance(data, dict):
        raise bad(path, 1, "packages.lock.json is not a JSON object")
    if data.get("version") not in (1, 2):
        raise bad(path, 1, f"packages.lock.json version {data.get('version')!r} is not supported (1 and 2 are)")
    frameworks = data.get("dependencies", {})
    if not isinstance(frameworks, dict):
        raise bad(path, None, '"dependencies" is not an object of target frameworks')
    lines = KeyLines(text)
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    seen: set[tuple[str, str]] = set()
    for framework, packages in frameworks.items():
        lines.take(framework)
        if not isinstance(packages, dict):
            continue
        for name, spec in packages.items():
            line = lines.take(name)
            if not isinstance(spec, dict):
                continue
            if spec.get("type") == "Project":
                continue
            version = spec.get("resolved")
            if not isinstance(version, str) or not version:
                problems.append((line, f"{name} ({framework}) has no resolved version"))
                continue
            if (name.lower(), version) not in seen:
                seen.add((name.lower(), version))
                out.append(Package("NuGet", name, version, str(path), line))
    return partly(out, problems)


FORMAT = LockfileFormat("nuget", "NuGet", ("packages.lock.json",), parse)
