"""OS packages of a root filesystem: dpkg (Debian, Ubuntu) and apk (Alpine), matched per release under
their source package, as the distributions' advisories name them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.vulns.inventory import Package, apk, dpkg, format_for
from tests.vulns.conftest import corpus
from tests.vulns.helpers import build_index, record

OS_RELEASE = {
    "debian-11": 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_ID="11"\n',
    "ubuntu-22.04": 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\n',
    "alpine-3.11": "ID=alpine\nVERSION_ID=3.11.13\n",
}

# generated for these tests; the field layout is dpkg's (see the real database in ../shared)
STATUS = """\
Package: libssl1.1
Status: install ok installed
Priority: optional
Architecture: amd64
Source: openssl
Version: 1.1.1n-0+deb11u3
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.2.11.dfsg-2+deb11u1)
Version: 1:1.2.11.dfsg-2+deb11u1

Package: removed-tool
Status: deinstall ok config-files
Version: 1.0-1

Package: bash
Status: install ok installed
Version: 5.1-2+deb11u1
"""


def _rootfs(tmp_path: Path, release: str, db: str, text: str, *, symlink_os_release: bool = False) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "usr" / "lib").mkdir(parents=True)
    if symlink_os_release:
        (root / "usr/lib/os-release").write_text(OS_RELEASE[release])
        (root / "etc/os-release").symlink_to("/usr/lib/os-release")
    else:
        (root / "etc/os-release").write_text(OS_RELEASE[release])
    path = root / db
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return root


def test_installed_dpkg_packages_are_read_under_their_source_name_and_version(tmp_path: Path) -> None:
    root = _rootfs(tmp_path, "debian-11", "var/lib/dpkg/status", STATUS)
    path = root / "var/lib/dpkg/status"
    assert format_for(path) is dpkg.FORMAT
    assert dpkg.parse(path, STATUS) == [
        Package("Debian:11", "openssl", "1.1.1n-0+deb11u3", str(path), 1),
        Package("Debian:11", "zlib", "1:1.2.11.dfsg-2+deb11u1", str(path), 10),
        Package("Debian:11", "bash", "5.1-2+deb11u1", str(path), 20),
    ]


def test_a_file_named_status_elsewhere_is_not_a_package_database(tmp_path: Path) -> None:
    assert format_for(tmp_path / "app" / "status") is None
    assert format_for(tmp_path / "lib" / "installed") is None


def test_the_release_comes_from_os_release_and_a_symlink_out_of_the_root_is_not_followed(tmp_path: Path) -> None:
    root = _rootfs(tmp_path, "ubuntu-22.04", "var/lib/dpkg/status", STATUS, symlink_os_release=True)
    [first, *_] = dpkg.parse(root / "var/lib/dpkg/status", STATUS)
    assert first.ecosystem == "Ubuntu:22.04:LTS"  # read from usr/lib/os-release, not the host's /usr/lib


def test_a_database_without_os_release_is_not_matched_against_a_guessed_release(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "rootfs"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    db = build_index(tmp_path, [record("DSA-5343-1", "Debian:11", "openssl",
                                       [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u4"}])])
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []
    assert any("3 pkg:deb package(s) not matched" in s["message"] for s in report["skipped"])


def test_distroless_status_d_files_are_read(tmp_path: Path) -> None:
    one = "Package: libc6\nArchitecture: amd64\nSource: glibc\nVersion: 2.31-13+deb11u5\n"
    root = _rootfs(tmp_path, "debian-11", "var/lib/dpkg/status.d/libc6", one)
    path = root / "var/lib/dpkg/status.d/libc6"
    assert format_for(path) is dpkg.FORMAT
    assert dpkg.parse(path, one) == [Package("Debian:11", "glibc", "2.31-13+deb11u5", str(path), 1)]


def test_apk_packages_are_read_under_their_origin(tmp_path: Path) -> None:
    text = ("C:Q1abc=\nP:libcrypto1.1\nV:1.1.1d-r3\nA:x86_64\no:openssl\n\n"
            "C:Q1def=\nP:musl\nV:1.1.24-r2\nA:x86_64\no:musl\n")
    root = _rootfs(tmp_path, "alpine-3.11", "lib/apk/db/installed", text)
    path = root / "lib/apk/db/installed"
    assert format_for(path) is apk.FORMAT
    assert apk.parse(path, text) == [Package("Alpine:v3.11", "openssl", "1.1.1d-r3", str(path), 1),
                                     Package("Alpine:v3.11", "musl", "1.1.24-r2", str(path), 7)]


def _corpus_records(eco_zip: str, ecosystem: str, names: set[str]) -> list[dict[str, object]]:
    out = []
    with zipfile.ZipFile(corpus() / "advisories" / "osv-converted" / eco_zip / "all.zip") as zf:
        for name in zf.namelist():
            rec = json.loads(zf.read(name))
            if any(a["package"]["ecosystem"] == ecosystem and a["package"]["name"] in names
                   for a in rec.get("affected", [])):
                out.append(rec)
    return out


@pytest.mark.corpus
def test_a_debian_11_rootfs_is_matched_against_the_real_debian_advisories(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path, "debian-11", "var/lib/dpkg/status", STATUS)
    db = build_index(tmp_path, _corpus_records("Debian", "Debian:11", {"openssl", "zlib", "bash"}))
    code = main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    found = {(f["package"], f["advisory"]) for f in report["findings"]}
    # 1.1.1n-0+deb11u3: DSA-5343-1 (fixed in deb11u4) applies; DSA-5169-1 (fixed in deb11u3) does not
    assert ("openssl", "DSA-5343-1") in found and ("openssl", "DSA-5169-1") not in found
    assert all(f["source"]["file"].endswith("var/lib/dpkg/status") for f in report["findings"])


@pytest.mark.corpus
def test_the_real_debian_12_dpkg_database_is_read_whole_and_reported_unmatched_without_advisories(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = corpus() / "rootfs-samples" / "debian-12"
    status = (root / "var/lib/dpkg/status").read_text()
    installed = status.count("\nStatus: install ok installed") + status.startswith("Status: install ok installed")
    packages = dpkg.parse(root / "var/lib/dpkg/status", status)
    assert len(packages) == installed == 710 and {p.ecosystem for p in packages} == {"Debian:12"}
    db = build_index(tmp_path, _corpus_records("Debian", "Debian:11", {"openssl"}))
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert any("710 Debian:12 package(s) not matched" in s["message"] for s in report["skipped"])


def test_the_python_packages_installed_in_an_environment_are_read_as_pip_sees_them() -> None:
    """The test environment's own site-packages is a real installed tree: what cnsec reads from its
    METADATA files is what importlib.metadata (pip's view) lists, name and version."""
    import importlib.metadata
    import sysconfig

    from cnsec.vulns.inventory import discover

    site = Path(sysconfig.get_paths()["purelib"])
    import re

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    found = {(norm(p.name), p.version) for path, fmt in discover(site) if fmt.id == "python-installed"
             for p in fmt.parse(path, path.read_text(encoding="utf-8", errors="replace"))}
    expected = {(norm(str(d.metadata["Name"])), d.version)
                for d in importlib.metadata.distributions(path=[str(site)]) if d.metadata["Name"]}
    assert len(found) > 20 and found == expected


def test_an_installed_python_package_in_a_rootfs_is_matched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = tmp_path / "rootfs/usr/local/lib/python3.11/site-packages/urllib3-1.24.1.dist-info/METADATA"
    meta.parent.mkdir(parents=True)
    meta.write_text("Metadata-Version: 2.1\nName: urllib3\nVersion: 1.24.1\nSummary: HTTP library\n\n"
                    "Name: not-a-header-any-more\n")
    db = build_index(tmp_path, [record("PYSEC-2019-133", "PyPI", "urllib3",
                                       [{"introduced": "0"}, {"fixed": "1.24.2"}])])
    main(["vulns", str(tmp_path / "rootfs"), "--db", str(db), "-f", "json", "--fail-on", "none"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["package"], finding["installed_version"], finding["source"]["line"]) == ("urllib3", "1.24.1", 2)
