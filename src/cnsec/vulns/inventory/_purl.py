"""Package URLs (purl spec) to (OSV ecosystem, name, version), for the SBOM inventory sources."""

from __future__ import annotations

from urllib.parse import unquote

#: purl type -> OSV ecosystem, and how namespace and name join into OSV's package name
_TYPES = {"pypi": ("PyPI", None), "npm": ("npm", "/"), "golang": ("Go", "/"), "cargo": ("crates.io", None),
          "gem": ("RubyGems", None), "composer": ("Packagist", "/"), "maven": ("Maven", ":"),
          "nuget": ("NuGet", None), "hex": ("Hex", None), "pub": ("Pub", None)}
#: OS package types: inventoried with their distribution release in a later slice
OS_TYPES = frozenset({"deb", "apk", "rpm", "alpm"})


UNSUPPORTED = "unsupported:"


class PurlError(ValueError):
    pass


def parse(purl: str) -> tuple[str, str, str]:
    """(ecosystem, name, version); the ecosystem is ``UNSUPPORTED + type`` for a type not matched yet
    (OS packages, ``generic``), so the scan can count it; PurlError when malformed or without a
    version (a component with no version names nothing to match)."""
    if not purl.startswith("pkg:"):
        raise PurlError(f"not a package URL: {purl!r}")
    body = purl[4:].lstrip("/").split("#", 1)[0].split("?", 1)[0]
    kind, _, rest = body.partition("/")
    if not rest:
        raise PurlError(f"package URL without a name: {purl!r}")
    kind = kind.lower()
    if kind not in _TYPES:
        return UNSUPPORTED + kind, rest.split("@", 1)[0], ""
    path, at, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if not at or not version:
        raise PurlError(f"package URL without a version: {purl!r}")
    parts = [unquote(p) for p in path.split("/") if p]
    ecosystem, joiner = _TYPES[kind]
    if joiner is None or len(parts) == 1:
        name = parts[-1]
    else:
        name = joiner.join(parts) if joiner != ":" else f"{'.'.join(parts[:-1])}:{parts[-1]}"
    if kind == "pypi":
        name = name.replace("_", "-")
    return ecosystem, name, unquote(version)
