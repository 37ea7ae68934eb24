"""Package URLs (purl spec) to (OSV ecosystem, name, version), for the SBOM inventory sources."""

from __future__ import annotations

from urllib.parse import unquote

#: purl type -> OSV ecosystem, and how namespace and name join into OSV's package name
_TYPES = {"pypi": ("PyPI", None), "npm": ("npm", "/"), "golang": ("Go", "/"), "cargo": ("crates.io", None),
          "gem": ("RubyGems", None), "composer": ("Packagist", "/"), "maven": ("Maven", ":"),
          "nuget": ("NuGet", None), "hex": ("Hex", None), "pub": ("Pub", None)}
#: OS package types; deb and apk are matched when the purl names the release (``distro`` qualifier)
OS_TYPES = frozenset({"deb", "apk", "rpm", "alpm"})
#: Debian codenames, for ``?distro=bookworm``
_DEBIAN_CODENAMES = {"trixie": "13", "bookworm": "12", "bullseye": "11", "buster": "10", "stretch": "9",
                     "jessie": "8", "wheezy": "7"}


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
    if kind in ("deb", "apk", "rpm"):
        return _os_package(purl, kind, rest)
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


def os_ecosystem(kind: str, namespace: str, distro: str) -> str | None:
    """The OSV ecosystem of a deb/apk purl's ``distro`` qualifier (``debian-11``, ``11``, ``bookworm``,
    ``ubuntu-22.04``, ``alpine-3.18.4``), or ``None`` when it names no release we can tell."""
    distro = distro.lower()
    name, _, version = distro.rpartition("-") if "-" in distro else (namespace, "", distro)
    name = name or namespace
    if kind == "deb" and name == "debian":
        version = _DEBIAN_CODENAMES.get(version, version)
        return f"Debian:{version.split('.')[0]}" if version[:1].isdigit() else None
    if kind == "deb" and name == "ubuntu" and version[:1].isdigit():
        return f"Ubuntu:{version}"
    if kind == "apk" and name == "alpine" and version[:1].isdigit():
        return f"Alpine:v{'.'.join(version.lstrip('v').split('.')[:2])}"
    if kind == "rpm":  # distro=rocky-9.3, the os-release ID and VERSION_ID as cnsec and Syft write them
        from cnsec.vulns.inventory._osrelease import rpm_ecosystem

        return rpm_ecosystem(name, version)
    return None


def _os_package(purl: str, kind: str, rest: str) -> tuple[str, str, str]:
    """A deb/apk/rpm purl: matched under its distribution release, unsupported without one (never
    guessed); an rpm's ``epoch`` qualifier goes before its version, as OSV's rpm fixes write it."""
    from urllib.parse import parse_qs

    query = purl.split("#", 1)[0].partition("?")[2]
    qualifiers = {k: v[0] for k, v in parse_qs(query).items()}
    path, _, version = rest.rpartition("@")
    parts = [unquote(p) for p in path.split("/") if p]
    if not version or len(parts) < 2:
        raise PurlError(f"package URL without a namespace, name or version: {purl!r}")
    namespace, name = parts[0].lower(), parts[-1]
    ecosystem = os_ecosystem(kind, namespace, qualifiers.get("distro", ""))
    if ecosystem is None:
        return UNSUPPORTED + kind, name, ""
    epoch = qualifiers.get("epoch", "") if kind == "rpm" else ""
    return ecosystem, name, f"{epoch}:" * bool(epoch) + unquote(version)
