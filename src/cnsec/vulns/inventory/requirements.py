"""pip requirements files: only exact pins (``==``/``===``) name one version to match."""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package, PartlyRead


def parse(path: Path, text: str) -> list[Package]:
    from packaging.requirements import InvalidRequirement, Requirement

    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    pending = ""
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = n
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if not line or line.startswith("-") or "://" in line or line.startswith((".", "/")):
            continue  # options (-r, -e, --hash...), URLs and local paths name no index version
        try:
            req = Requirement(line.split(" --", 1)[0])
        except InvalidRequirement as exc:
            problems.append((start, f"not a requirement: {exc}"))
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if pins:
            out.append(Package("PyPI", req.name, pins[0], str(path), start))
    if problems:
        raise PartlyRead(out, problems)
    return out


FORMAT = LockfileFormat("requirements", "PyPI", ("requirements*.txt", "*requirements.txt"), parse)
