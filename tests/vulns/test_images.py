"""Container images (docker save and OCI layouts): layers applied in order with whiteouts, in memory,
each package named with the layer that brought it; hostile tarballs cannot write outside or explode."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from cnsec.cli import main
from tests.vulns.helpers import build_index, record

OS_RELEASE = b'ID=debian\nVERSION_ID="11"\n'
SSL = b"Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1n-0+deb11u3\n"
BASH = b"Package: bash\nStatus: install ok installed\nVersion: 5.1-2+deb11u1\n"


def _layer(files: dict[str, bytes | None]) -> bytes:
    """A layer tar; a value of None makes a folder."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


LAYERS = [
    _layer({"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": SSL,
            "srv/old/requirements.txt": b"demo-pkg==1.5\n", "srv/cache/requirements.txt": b"demo-pkg==1.5\n"}),
    _layer({"var/lib/dpkg/status": SSL + b"\n" + BASH, "srv/old/.wh.requirements.txt": b"",
            "srv/cache/.wh..wh..opq": b"", "app/requirements.txt": b"demo-pkg==1.5\n",
            "../../escaped/requirements.txt": b"demo-pkg==1.5\n",
            "usr/lib/python3/dist-packages/demo_pkg-1.5.dist-info/METADATA": b"Name: demo_pkg\nVersion: 1.5\n\n"}),
]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_save(path: Path, layers: list[bytes]) -> Path:
    with tarfile.open(path, "w") as tf:
        names = []
        for i, data in enumerate(layers):
            name = f"layer{i}/layer.tar"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
            names.append(name)
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["shop/api:1"], "Layers": names}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tf.addfile(info, io.BytesIO(manifest))
    return path


def oci_layout(folder: Path, layers: list[bytes]) -> Path:
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = _digest(data)
        (blobs / digest.split(":")[1]).write_bytes(data)
        return digest

    manifest = json.dumps({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(d), "size": len(d)}
        for d in layers]}).encode()
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest)}]}))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder


def _scan(tmp_path: Path, image: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    db = build_index(tmp_path, [
        record("DSA-5343-1", "Debian:11", "openssl", [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u4"}]),
        record("DSA-9999-1", "Debian:11", "bash", [{"introduced": "0"}, {"fixed": "5.1-2+deb11u2"}]),
        record("PYSEC-2099-1", "PyPI", "demo-pkg", [{"introduced": "0"}, {"fixed": "2.0"}])])
    main(["vulns", str(image), "--db", str(db), "-f", "json", "--fail-on", "none"])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["docker-save", "oci-layout"])
def test_an_image_is_read_layer_by_layer_with_whiteouts_and_each_package_names_its_layer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    image = (docker_save(tmp_path / "image.tar", LAYERS) if kind == "docker-save"
             else oci_layout(tmp_path / "image", LAYERS))
    report = _scan(tmp_path, image, capsys)
    found = {(f["package"], f["source"]["file"].split(":/", 1)[1], f["layer"])  # type: ignore[index]
             for f in report["findings"]}  # type: ignore[attr-defined]
    first, second = (("layer0", "layer1") if kind == "docker-save" else (_digest(LAYERS[0]), _digest(LAYERS[1])))
    assert found == {("openssl", "var/lib/dpkg/status", first),   # installed by the first layer
                     ("bash", "var/lib/dpkg/status", second),     # by the second, which rewrote the database
                     ("demo-pkg", "app/requirements.txt", second),
                     ("demo-pkg", "usr/lib/python3/dist-packages/demo_pkg-1.5.dist-info/METADATA", second),
                     # ../../escaped is clamped to the image root, as a container runtime unpacks it
                     ("demo-pkg", "escaped/requirements.txt", second)}
    # srv/old was whited out and srv/cache made opaque; nothing was written outside
    assert not (tmp_path.parent / "escaped").exists() and not Path("/escaped").exists()
    assert all(str(f["source"]["file"]).startswith(str(image) + ":/") for f in report["findings"])  # type: ignore[attr-defined,index]


def test_a_layer_that_is_not_a_tar_is_reported_and_the_others_are_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = docker_save(tmp_path / "image.tar", [LAYERS[0], b"\x28\xb5\x2f\xfd not a tar (zstd?)"])
    report = _scan(tmp_path, image, capsys)
    assert {f["package"] for f in report["findings"]} == {"openssl", "demo-pkg"}  # type: ignore[attr-defined,index]
    assert any("layer1: not a readable tar layer" in e["message"] for e in report["errors"])  # type: ignore[attr-defined,index]


def test_a_manifest_naming_a_missing_layer_is_an_input_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "image.tar"
    with tarfile.open(image, "w") as tf:
        manifest = json.dumps([{"Layers": ["nope/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tf.addfile(info, io.BytesIO(manifest))
    report = _scan(tmp_path, image, capsys)
    assert report["findings"] == []
    assert any("does not hold" in e["message"] for e in report["errors"])  # type: ignore[attr-defined,index]


def test_sbom_out_writes_a_valid_cyclonedx_document_of_every_package_and_its_vulnerabilities(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    image = docker_save(tmp_path / "image.tar", LAYERS)
    db = build_index(tmp_path, [
        record("DSA-5343-1", "Debian:11", "openssl", [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u4"}],
               aliases=["CVE-2023-0286"])])
    out = tmp_path / "sbom.cdx.json"
    main(["vulns", str(image), "--db", str(db), "--sbom-out", str(out), "-f", "json", "--fail-on", "none"])
    capsys.readouterr()
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    purls = {c["purl"] for c in doc["components"]}
    # one component per package: demo-pkg==1.5 pinned in two files of the image is one component
    assert purls == {"pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3?distro=debian-11",
                     "pkg:deb/debian/bash@5.1-2%2Bdeb11u1?distro=debian-11", "pkg:pypi/demo-pkg@1.5"}
    [vuln] = doc["vulnerabilities"]
    assert vuln["id"] == "DSA-5343-1" and vuln["references"][0]["id"] == "CVE-2023-0286"
    layer = {c["name"]: {p["name"]: p["value"] for p in c["properties"]} for c in doc["components"]}
    assert layer["bash"]["cnsec:layer"] == "layer1"


def test_an_sbom_cnsec_wrote_reads_back_as_the_same_packages_and_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = docker_save(tmp_path / "image.tar", LAYERS)
    first = _scan(tmp_path, image, capsys)
    db = tmp_path / "data" / "vulns.db"
    out = tmp_path / "image.cdx.json"
    main(["vulns", str(image), "--db", str(db), "--sbom-out", str(out), "-f", "json", "--fail-on", "none"])
    capsys.readouterr()
    main(["vulns", str(out), "--db", str(db), "-f", "json", "--fail-on", "none"])
    again = json.loads(capsys.readouterr().out)
    assert {(f["package"], f["advisory"]) for f in again["findings"]} == \
        {(f["package"], f["advisory"]) for f in first["findings"]}  # type: ignore[attr-defined,index]


def test_a_tarball_of_several_images_says_only_the_first_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = docker_save(tmp_path / "image.tar", LAYERS)
    with tarfile.open(image) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(members["manifest.json"])
    members["manifest.json"] = json.dumps(manifest + manifest).encode()
    with tarfile.open(image, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    report = _scan(tmp_path, image, capsys)
    assert any("2 images (docker save of several) in this image; only the first is read" in e["message"]
               for e in report["errors"])  # type: ignore[attr-defined,index]


def test_an_oci_index_entry_without_a_digest_is_an_input_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = oci_layout(tmp_path / "image", LAYERS)
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "x"}]}))
    report = _scan(tmp_path, folder, capsys)
    assert any("has no digest" in e["message"] for e in report["errors"])  # type: ignore[attr-defined,index]
