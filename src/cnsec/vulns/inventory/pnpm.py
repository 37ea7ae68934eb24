"""pnpm-lock.yaml, lockfileVersion 5.x, 6.0 and 9.0: the ``packages`` (and v9 ``snapshots``) keys.

A key names one resolved package, written differently by each lockfile version:

* 5.x: ``/name/1.2.3``, ``/@scope/name/1.2.3``, peers after ``_`` (``/foo/1.0.0_react@18.2.0``), a
  registry host in front for non-default registries (``registry.npmjs.org/foo/1.1.0``);
* 6.0: ``/name@1.2.3``, ``/@scope/name@1.2.3``, peers in parentheses (``/foo@1.0.0(react@18.2.0)``);
* 9.0 (and the short-lived 7.0): ``name@1.2.3``, ``'@scope/name@1.2.3'`` in ``packages``; ``snapshots``
  repeats them with peers.

An entry's own ``name``/``version`` fields win over its key (tarball and git packages carry them).
Local ``file:``/``link:`` entries are the project's own code, not registry packages, and are skipped as
in package-lock.json; so is a git or tarball entry without a version. The same name and version under
several peer sets is one package. A key that fits none of the shapes is reported with its line and
the other entries are kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cnsec.vulns.inventory import LockfileFormat, Package, bad, partly

_LOCAL = ("file:", "link:", "workspace:")
_DIGIT = re.compile(r"^\d")


def _name_at_version(spec: str) -> tuple[str, str] | None:
    at = spec.find("@", 1)  # a scoped name starts with '@'
    return (spec[:at], spec[at + 1:]) if at > 0 else None


def split_key(key: str, major: int | None = None) -> tuple[str, str] | None:
    """(name, version) of a ``packages``/``snapshots`` key, ``("", "")`` for a local entry, None when the
    key has none of the shapes pnpm writes — for lockfile version ``major`` when it is known: a v9
    ``name@1.0.0`` key in a 5.4 lockfile is as wrong as a v5 ``/name/1.0.0`` one in a 9.0 lockfile. The
    version may be a URL or path (no digit first): the caller then needs the entry's own ``version``."""
    key = key.strip().strip("'\"")
    if key.startswith(_LOCAL):
        return "", ""
    key = key.split("(", 1)[0]  # v6/v9 peer suffix
    if not key.startswith(("/", "@")):
        slash = key.find("/")
        if slash > 0 and "@" not in key[:slash]:
            key = key[slash:]  # v5/v6 registry host in front: example.com/foo/1.2.0
    if not key.startswith("/"):  # v9: name@version
        return _name_at_version(key) if major is None or major >= 7 else None
    if major is not None and major >= 7:
        return None
    parts = key[1:].split("/")
    scoped = parts[0].startswith("@")
    if scoped and len(parts) < 2:
        return None
    name, rest = ("/".join(parts[:2]), parts[2:]) if scoped else (parts[0], parts[1:])
    if rest:  # v5: /name/version[_peers]
        return name, rest[0].split("_", 1)[0]
    return _name_at_version(name) or (name, "")  # v6: /name@version; a git path: no version


def _major(doc: Any) -> int | None:
    """The lockfile's major version (5.4 -> 5, '6.0' -> 6, '9.0' -> 9); None when absent or unreadable."""
    try:
        return int(float(str(doc.get("lockfileVersion"))))
    except (ValueError, OverflowError):
        return None


def _entries(doc: Any) -> list[tuple[str, Any, int | None]]:
    out: list[tuple[str, Any, int | None]] = []
    for section in ("packages", "snapshots"):
        block = doc.get(section)
        if isinstance(block, dict):
            lines = getattr(block, "key_lines", {})
            out += [(str(k), v, lines.get(k)) for k, v in block.items()]
    return out


def parse(path: Path, text: str) -> list[Package]:
    import yaml

    from cnsec.yamlsafe import error_line, error_message, load_documents

    try:
        docs = [d for d, _ in load_documents(text)]
    except yaml.YAMLError as exc:
        raise bad(path, error_line(exc), error_message(exc, text)) from None
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    seen: set[tuple[str, str]] = set()
    for doc in docs:  # pnpm 9 may write an env lockfile as a first document
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise bad(path, 1, "pnpm-lock.yaml is not a YAML mapping")
        major = _major(doc)
        for key, spec, line in _entries(doc):
            spec = spec if isinstance(spec, dict) else {}
            split = split_key(key, major)
            if split == ("", ""):
                continue  # file:/link: — the project's own code
            own_name, own_version = spec.get("name"), spec.get("version")
            if isinstance(own_name, str) and isinstance(own_version, str):
                name, version = own_name, own_version  # a git/tarball entry: its key is only an id
            elif split is None:
                problems.append((line, f"not a pnpm package key: {key!r}"))
                continue
            else:
                name = own_name if isinstance(own_name, str) else split[0]
                version = own_version if isinstance(own_version, str) else split[1]
            if not name or not _DIGIT.match(version):
                continue  # a git/tarball dependency without a version names nothing to match
            version = version.split("_", 1)[0]  # a v5 peer suffix (SemVer has no '_')
            if (name, version) not in seen:
                seen.add((name, version))
                out.append(Package("npm", name, version, str(path), line))
    return partly(out, problems)


FORMAT = LockfileFormat("pnpm", "npm", ("pnpm-lock.yaml",), parse)
