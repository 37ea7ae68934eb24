"""RPM: the sqlite rpmdb read without rpm (header blobs parsed with bounds), matched under the
distribution's OSV ecosystem with rpm's version order; the older Berkeley DB and ndb databases are
reported as not read, never as empty."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.vulns.inventory import format_for, rpm, rpm_legacy
from cnsec.vulns.versions import rpm_compare
from tests.vulns.helpers import build_index, record

DATA = Path(__file__).parent / "data" / "rpm"
ROCKY_9 = 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nVERSION_ID="9.3"\n'
MARINER = 'NAME="Common Base Linux Mariner"\nID=mariner\nVERSION_ID="2.0"\n'


def _rootfs(tmp_path: Path, os_release: str, db: str = "var/lib/rpm/rpmdb.sqlite",
            source: Path = DATA / "mariner-2.0-rpmdb.sqlite") -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(os_release)
    (root / db).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, root / db)
    return root


def _read(path: Path) -> list[rpm.Package]:
    with path.open("rb") as fh:
        return rpm.read(path, fh)


def test_the_real_mariner_rpmdb_reads_as_go_rpmdb_and_rpms_own_name_index_say(tmp_path: Path) -> None:
    root = _rootfs(tmp_path, MARINER)
    path = root / "var/lib/rpm/rpmdb.sqlite"
    assert format_for(path) is rpm.FORMAT
    packages = _read(path)
    # rpm keeps a Name index (name -> header number) beside the header blobs: the names must agree
    conn = sqlite3.connect(path)
    assert sorted(p.name for p in packages) == sorted(n for (n,) in conn.execute("SELECT key FROM Name"))
    curl = next(p for p in packages if p.name == "curl")
    # go-rpmdb's own expectation for this file (pkg/rpmdb_test.go, "CBL-Mariner 2.0 curl")
    assert (curl.version, curl.purl) == (
        "7.76.0-6.cm2",
        "pkg:rpm/mariner/curl@7.76.0-6.cm2?arch=x86_64&upstream=curl-7.76.0-6.cm2.src.rpm&distro=mariner-2.0")
    tools = next(p for p in packages if p.name == "ca-certificates-tools")
    assert tools.version == "1:2.0.0-1.cm2" and "&epoch=1&" in str(tools.purl)
    # CBL-Mariner publishes no OSV ecosystem by that name: counted as unsupported, never guessed
    assert {p.ecosystem for p in packages} == {"unsupported:rpm/mariner"}


def test_the_rpmdb_of_rpm_4_16_under_usr_lib_sysimage_is_found_and_rocky_9_is_its_ecosystem(tmp_path: Path) -> None:
    root = _rootfs(tmp_path, ROCKY_9, db="usr/lib/sysimage/rpm/rpmdb.sqlite")
    packages = _read(root / "usr/lib/sysimage/rpm/rpmdb.sqlite")
    assert {p.ecosystem for p in packages} == {"Rocky Linux:9"}
    assert next(p for p in packages if p.name == "curl").purl == (
        "pkg:rpm/rocky-linux/curl@7.76.0-6.cm2?arch=x86_64&upstream=curl-7.76.0-6.cm2.src.rpm&distro=rocky-9.3")


@pytest.mark.parametrize(("release", "ecosystem"), [
    ('ID="almalinux"\nVERSION_ID="8.9"\n', "AlmaLinux:8"),
    ('ID="opensuse-leap"\nVERSION_ID="15.5"\n', "openSUSE:Leap 15.5"),
    ('ID="opensuse-tumbleweed"\nVERSION_ID="20240101"\n', "openSUSE:Tumbleweed"),
    ('ID="rhel"\nVERSION_ID="9.3"\n', "Red Hat:enterprise_linux:9"),
    ('ID=fedora\nVERSION_ID=39\n', "unsupported:rpm/fedora"),
    ('ID="amzn"\nVERSION_ID="2023"\n', "unsupported:rpm/amzn"),
])
def test_the_osv_ecosystem_of_an_rpm_distribution_comes_from_os_release(
        tmp_path: Path, release: str, ecosystem: str) -> None:
    root = _rootfs(tmp_path, release)
    assert {p.ecosystem for p in _read(root / "var/lib/rpm/rpmdb.sqlite")} == {ecosystem}


def test_a_rocky_rootfs_is_matched_by_rpm_version_order_with_epochs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path, ROCKY_9)
    db = build_index(tmp_path, [
        # fixed in a later release of the same version: affected (7.76.0-6 < 7.76.0-10, numerically)
        record("RLSA-2099:1", "Rocky Linux:9", "curl", [{"introduced": "0"}, {"fixed": "0:7.76.0-10.cm2"}]),
        # fixed at epoch 0 of a higher version: the installed epoch 1 is newer, so not affected
        record("RLSA-2099:2", "Rocky Linux:9", "ca-certificates-tools", [{"introduced": "0"},
                                                                         {"fixed": "0:2023.2.60-1.el9"}]),
        # another release's advisory: not this one
        record("RLSA-2099:3", "Rocky Linux:8", "zlib", [{"introduced": "0"}, {"fixed": "0:1.2.11-99"}])])
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert {(f["package"], f["advisory"]) for f in report["findings"]} == {("curl", "RLSA-2099:1")}
    assert rpm_compare("1:2.0.0-1.cm2", "0:2023.2.60-1.el9") > 0


def test_a_rhel_package_is_matched_in_whichever_repository_of_its_release_names_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path, 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.3"\n')
    db = build_index(tmp_path, [
        # Red Hat's OSV records name the repository; the rpmdb does not say which one curl came from
        record("RHSA-2099:1", "Red Hat:enterprise_linux:9::baseos", "curl",
               [{"introduced": "0"}, {"fixed": "0:7.76.0-10.cm2"}]),
        record("RHSA-2099:2", "Red Hat:enterprise_linux:9::appstream", "zlib",
               [{"introduced": "0"}, {"fixed": "0:1.2.11-6.cm2"}]),
        record("RHSA-2099:3", "Red Hat:enterprise_linux:8::baseos", "curl",  # another release
               [{"introduced": "0"}, {"fixed": "0:7.76.0-99"}]),
        record("RHSA-2099:4", "Red Hat:rhel_eus:9.2::baseos", "curl",  # a stream this system is not on
               [{"introduced": "0"}, {"fixed": "0:7.76.0-99"}])])
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert {(f["package"], f["advisory"]) for f in report["findings"]} == {("curl", "RHSA-2099:1"),
                                                                           ("zlib", "RHSA-2099:2")}


def _blob(entries: list[tuple[int, int, int, int]], data: bytes) -> bytes:
    return struct.pack(">II", len(entries), len(data)) + b"".join(
        struct.pack(">iIiI", *e) for e in entries) + data


def test_header_blobs_with_offsets_counts_or_types_out_of_place_are_refused_not_read_past() -> None:
    good = _blob([(1000, 6, 0, 1), (1001, 6, 5, 1), (1002, 6, 9, 1)], b"curl\x001.0\x001\x00")
    assert rpm.header(good) == {1000: "curl", 1001: "1.0", 1002: "1"}
    bad = {
        "preamble": b"\x00\x00\x00",
        "index past the blob": good[:40],
        "offset outside": _blob([(1000, 6, 99, 1)], b"curl\x00"),
        "negative offset": _blob([(1000, 6, -4, 1)], b"curl\x00"),
        "unterminated": _blob([(1000, 6, 0, 1)], b"curl"),
        "int past the data": _blob([(1003, 4, 2, 1)], b"\x00\x00\x00\x01"),
        "wrong type": _blob([(1000, 7, 0, 1)], b"curl\x00"),
        "huge counts": struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF),
    }
    for why, blob in bad.items():
        with pytest.raises(rpm.HeaderError):
            rpm.header(blob)
        assert why


def test_a_corrupt_header_row_costs_that_row_and_is_reported_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path, ROCKY_9)
    path = root / "var/lib/rpm/rpmdb.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("UPDATE Packages SET blob = substr(blob, 1, 100) WHERE hnum = 48")  # curl, truncated
    conn.commit()
    conn.close()
    db = build_index(tmp_path, [record("RLSA-2099:4", "Rocky Linux:9", "zlib",
                                       [{"introduced": "0"}, {"fixed": "0:1.2.12-1.el9"}])])
    code = main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert [f["package"] for f in report["findings"]] == ["zlib"]  # the other rows are still matched
    [error] = report["errors"]
    assert error["file"] == str(path) and "package row 48: corrupt rpm header" in error["message"]


def test_a_file_that_is_not_sqlite_is_an_input_error_naming_it(tmp_path: Path) -> None:
    from cnsec.errors import InputError

    root = _rootfs(tmp_path, ROCKY_9)
    path = root / "var/lib/rpm/rpmdb.sqlite"
    path.write_bytes(b"\x00" * 5000)
    with pytest.raises(InputError, match="not a readable sqlite rpmdb"):
        _read(path)


@pytest.mark.parametrize(("name", "kind"), [("libuuid-bdb-Packages.head", "Berkeley DB"),
                                            ("sle15-ndb-Packages.db.head", "SUSE ndb")])
def test_berkeley_db_and_ndb_rpmdbs_are_reported_as_not_read_in_every_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str) -> None:
    target = "var/lib/rpm/Packages.db" if "ndb" in name else "var/lib/rpm/Packages"
    root = _rootfs(tmp_path, ROCKY_9, db=target, source=DATA / name)
    assert format_for(root / target) is rpm_legacy.FORMAT
    db = build_index(tmp_path)
    code = main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["errors"] == []
    [skipped] = report["skipped"]
    assert skipped["file"] == str(root / target) and f"rpm database in {kind} format: not read" in skipped["message"]
    main(["vulns", str(root), "--db", str(db), "--fail-on", "none"])
    assert f"rpm database in {kind} format" in capsys.readouterr().out  # the table says it too


def test_an_sbom_of_an_rpm_rootfs_is_valid_cyclonedx_and_reads_back_as_the_same_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    root = _rootfs(tmp_path, ROCKY_9)
    db = build_index(tmp_path, [
        record("RLSA-2099:1", "Rocky Linux:9", "curl", [{"introduced": "0"}, {"fixed": "0:7.76.0-10.cm2"}]),
        record("RLSA-2099:5", "Rocky Linux:9", "ca-certificates-tools", [{"introduced": "0"},
                                                                         {"fixed": "1:2.0.0-2.cm2"}])])
    out = tmp_path / "rocky.cdx.json"
    main(["vulns", str(root), "--db", str(db), "--sbom-out", str(out), "-f", "json", "--fail-on", "none"])
    first = {(f["package"], f["advisory"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert first == {("curl", "RLSA-2099:1"), ("ca-certificates-tools", "RLSA-2099:5")}  # epoch 1 kept
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(out.read_text()) is None
    main(["vulns", str(out), "--db", str(db), "-f", "json", "--fail-on", "none"])
    assert {(f["package"], f["advisory"]) for f in json.loads(capsys.readouterr().out)["findings"]} == first


def test_in_an_image_each_rpm_keeps_the_layer_that_installed_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.vulns.test_images import _layer, docker_save

    before = tmp_path / "before.sqlite"
    shutil.copyfile(DATA / "mariner-2.0-rpmdb.sqlite", before)
    conn = sqlite3.connect(before)
    conn.execute("DELETE FROM Packages WHERE hnum = 48")  # curl is installed by the second layer
    conn.commit()
    conn.close()
    release = ROCKY_9.encode()
    image = docker_save(tmp_path / "image.tar", [
        _layer({"etc/os-release": release, "var/lib/rpm/rpmdb.sqlite": before.read_bytes()}),
        _layer({"var/lib/rpm/rpmdb.sqlite": (DATA / "mariner-2.0-rpmdb.sqlite").read_bytes()})])
    db = build_index(tmp_path, [
        record("RLSA-2099:1", "Rocky Linux:9", "curl", [{"introduced": "0"}, {"fixed": "0:7.76.0-10.cm2"}]),
        record("RLSA-2099:6", "Rocky Linux:9", "zlib", [{"introduced": "0"}, {"fixed": "0:1.2.12-1.el9"}])])
    main(["vulns", str(image), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert {(f["package"], f["layer"]) for f in report["findings"]} == {("curl", "layer1"), ("zlib", "layer0")}
    assert report["errors"] == []


def test_corrupted_real_header_blobs_give_fields_or_a_header_error_never_another_exception() -> None:
    import random

    rng = random.Random(18)
    blobs = [b for (b,) in sqlite3.connect(DATA / "mariner-2.0-rpmdb.sqlite").execute("SELECT blob FROM Packages")]
    for _ in range(1000):
        data = bytearray(rng.choice(blobs))
        for _ in range(rng.randint(1, 6)):  # the counts, the index entries, anywhere
            at = rng.choice([rng.randrange(0, 8), rng.randrange(8, 8 + 16 * 40), rng.randrange(len(data))])
            data[at] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data))]
        with contextlib.suppress(rpm.HeaderError):
            rpm.header(bytes(data))
