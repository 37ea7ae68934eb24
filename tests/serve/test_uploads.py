"""Uploaded tarballs are hostile until read: each trick is refused with the whole archive, nothing is
written outside the temporary folder, and the temporary folder itself is gone afterwards."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cnsec.serve.context import ServeContext
from cnsec.serve.services import uploads
from cnsec.serve.services.uploads import Refused, unpack
from tests.serve.conftest import bearer


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder unpack() makes its folders in (to see that it leaves nothing)."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def make_tar(*members: tuple[tarfile.TarInfo, bytes | None], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


POD = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n"


def _hostile(tmp_path: Path) -> dict[str, bytes]:
    outside = tmp_path / "outside.txt"
    return {
        "absolute path": make_tar((entry(str(outside)), b"owned")),
        "dot-dot": make_tar((entry("ok/../../outside.txt"), b"owned")),
        "symlink out, absolute": make_tar((entry("k8s", tarfile.SYMTYPE, str(tmp_path)), None),
                                          (entry("k8s/outside.txt"), b"owned")),
        "symlink out, relative": make_tar((entry("a/up", tarfile.SYMTYPE, "../../.."), None)),
        "hard link out": make_tar((entry("h", tarfile.LNKTYPE, str(outside)), None)),
        "hard link to nothing before": make_tar((entry("h", tarfile.LNKTYPE, "later.yaml"), None),
                                                (entry("later.yaml"), POD)),
        "character device": make_tar((entry("dev/zero", tarfile.CHRTYPE), None)),
        "block device": make_tar((entry("dev/sda", tarfile.BLKTYPE), None)),
        "fifo": make_tar((entry("pipe", tarfile.FIFOTYPE), None)),
        "not a tar": gzip.compress(b"just some text, not an archive" * 10),
        "truncated": make_tar((entry("pod.yaml"), POD * 200), compress=False)[:4000],
        "truncated compressed": make_tar((entry("pod.yaml"), random.Random(1).randbytes(100_000)))[:3000],
    }


@pytest.mark.parametrize("trick", list(_hostile(Path("/x"))))
def test_each_hostile_tarball_is_refused_and_leaves_nothing_behind(trick: str, tmp_path: Path,
                                                                  scratch: Path) -> None:
    data = _hostile(tmp_path)[trick]
    with pytest.raises(Refused) as caught:
        unpack(io.BytesIO(data))
    assert caught.value.status == 400 and caught.value.message.startswith("upload refused: ")
    assert not (tmp_path / "outside.txt").exists()
    assert list(scratch.iterdir()) == []  # the temporary folder is removed on refusal


def _bomb(size: int) -> bytes:
    """A gzip tar holding one file of ``size`` zero bytes (a few KiB on the wire)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as gz:
        header = entry("zeros.yaml")
        header.size = size
        gz.write(header.tobuf(tarfile.GNU_FORMAT))
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            gz.write(chunk)
        gz.write(bytes(1024))
    return out.getvalue()


def _long_name_bomb(size: int) -> bytes:
    """A GNU long-name header claiming ``size`` bytes of name: tarfile reads a name whole into memory."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as gz:
        header = entry(tarfile.GNU_MAGIC.decode() and "././@LongLink", tarfile.GNUTYPE_LONGNAME)
        header.size = size
        gz.write(header.tobuf(tarfile.GNU_FORMAT))
        chunk = b"a" * (1 << 20)
        for _ in range(size >> 20):
            gz.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize("bomb", [_bomb, _long_name_bomb])
def test_an_archive_that_unpacks_beyond_the_byte_budget_is_refused_as_too_large(
        bomb: Callable[[int], bytes], scratch: Path) -> None:
    data = bomb(64 << 20)
    assert len(data) < 1 << 20
    with pytest.raises(Refused) as caught:
        unpack(io.BytesIO(data), max_bytes=8 << 20)
    assert caught.value.status == 413 and list(scratch.iterdir()) == []


def test_an_archive_of_too_many_members_is_refused(scratch: Path) -> None:
    data = make_tar(*((entry(f"d/{i}.yaml"), b"") for i in range(60)))
    with pytest.raises(Refused, match="more than 50 members"):
        unpack(io.BytesIO(data), max_members=50)
    assert list(scratch.iterdir()) == []


def test_a_plain_archive_unpacks_under_its_one_top_folder_with_inside_links_handled(scratch: Path) -> None:
    data = make_tar((entry("shop-1.0/k8s/pod.yaml"), POD),
                    (entry("shop-1.0/k8s/copy.yaml", tarfile.LNKTYPE, "shop-1.0/k8s/pod.yaml"), None),
                    (entry("shop-1.0/k8s/alias.yaml", tarfile.SYMTYPE, "pod.yaml"), None), compress=False)
    done = unpack(io.BytesIO(data))
    top = Path(done.top)
    assert top.name == "shop-1.0" and Path(done.root) == top.parent
    assert (top / "k8s" / "copy.yaml").read_bytes() == POD and not (top / "k8s" / "alias.yaml").exists()
    assert done.skipped == ["shop-1.0/k8s/alias.yaml: symbolic link not followed"] and done.files == 2
    assert (top / "k8s" / "pod.yaml").stat().st_mode & 0o077 == 0


def test_a_hostile_upload_is_a_json_400_and_starts_no_assessment(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    r = client.post("/v1/assessments", headers=bearer(role_users["analyst"]), data={"target": "x"},
                    files={"file": ("evil.tgz", _hostile(tmp_path)["dot-dot"], "application/gzip")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "upload_refused"
    assert "'..'" in r.json()["error"]["message"]
    assert client.get("/v1/assessments", headers=bearer(role_users["viewer"])).json()["items"] == []


def test_uploads_default_budget_is_bounded() -> None:
    assert uploads.MAX_BYTES <= 1 << 30 and uploads.MAX_MEMBERS <= 100_000
