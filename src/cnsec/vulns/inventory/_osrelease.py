"""Which distribution and release a root filesystem is, from its ``os-release``: the OSV ecosystem its
OS packages are matched in (``Debian:12``, ``Ubuntu:22.04:LTS``, ``Alpine:v3.18``, ``Rocky Linux:9``).

Advisories for a distribution are per release (a fix in bookworm says nothing of bullseye), so a package
database whose release cannot be told is not matched at all: it is reported as such, never matched
against the wrong release.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cnsec.vulns.inventory._purl import UNSUPPORTED

_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)=(.*)$")


def read_os_release(root: Path) -> dict[str, str]:
    """The fields of ``etc/os-release`` (or ``usr/lib/os-release``) under ``root``; ``{}`` when neither
    is a readable regular file. A symbolic link is not followed: in an image it points at ``/usr/...``,
    which on this machine is the host's own file."""
    for rel in ("etc/os-release", "usr/lib/os-release"):
        path = root / rel
        if os.path.islink(path) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:65536]
        except OSError:
            continue
        fields = {}
        for line in text.splitlines():
            m = _LINE.match(line.strip())
            if m:
                fields[m.group(1)] = m.group(2).strip().strip("\"'")
        return fields
    return {}


#: os-release ID -> the OSV ecosystem of its rpm packages, per major release
_RPM_MAJOR = {"almalinux": "AlmaLinux", "rocky": "Rocky Linux"}
#: os-release ID -> the purl namespace of its rpm packages (the purl spec's rpm vendors)
RPM_VENDORS = {"rhel": "redhat", "centos": "centos", "fedora": "fedora", "almalinux": "almalinux",
               "rocky": "rocky-linux", "opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse",
               "sles": "suse", "amzn": "amazon", "ol": "oracle", "mariner": "mariner", "azurelinux": "azurelinux"}


def rpm_ecosystem(distro: str, version: str) -> str | None:
    """The OSV ecosystem of an rpm distribution. Red Hat's own OSV ecosystems name the repository
    too (``Red Hat:enterprise_linux:9::appstream``), which an rpmdb does not record: RHEL packages get
    the family ``Red Hat:enterprise_linux:9``, matched against each of its repositories (a package name
    lives in one). Fedora, Amazon Linux, CentOS, Oracle Linux and SLES have no OSV ecosystem an rpmdb
    maps to: unsupported (counted, not guessed)."""
    if distro in _RPM_MAJOR and version:
        return f"{_RPM_MAJOR[distro]}:{version.split('.')[0]}"
    if distro == "rhel" and version:
        return f"Red Hat:enterprise_linux:{version.split('.')[0]}"
    if distro == "opensuse-leap" and version:
        return f"openSUSE:Leap {version}"
    if distro == "opensuse-tumbleweed":
        return "openSUSE:Tumbleweed"
    return None


def ecosystem(root: Path, family: str) -> str:
    """The OSV ecosystem of the OS packages under ``root`` (``family``: ``deb``, ``apk`` or ``rpm``, what
    the package database says), or ``UNSUPPORTED + family`` when the release is unknown."""
    fields = read_os_release(root)
    distro = fields.get("ID", "").lower()
    version = fields.get("VERSION_ID", "")
    if distro == "debian" and version:
        return f"Debian:{version.split('.')[0]}"
    if distro == "ubuntu" and version:
        lts = "LTS" in fields.get("VERSION", "")
        return f"Ubuntu:{version}" + (":LTS" if lts else "")
    if distro == "alpine" and version:
        major_minor = ".".join(version.split(".")[:2])
        return f"Alpine:v{major_minor}"
    if family == "rpm" and (rpm := rpm_ecosystem(distro, version)):
        return rpm
    return UNSUPPORTED + (f"{family}/{distro}" if distro else family)
