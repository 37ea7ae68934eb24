"""`cnsec vulndb update` against an HTTP server on loopback that behaves like OSV's bucket: ETags and 304s,
a rate limit with Retry-After, an MD5 in x-goog-hash, and the ways a download goes wrong."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.vulns.download import update
from tests.vulns.helpers import record


def _zip(records: list[dict[str, object]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    return buf.getvalue()


PYPI = _zip([record("PYSEC-2099-1", "PyPI", "demo-pkg", [{"introduced": "0"}, {"fixed": "2.0"}])])
GO = _zip([record("GO-2099-1", "Go", "example.com/mod", [{"introduced": "0"}, {"fixed": "1.6.0"}])])


class Bucket(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    log: list[tuple[str, str, int]] = []
    throttle: dict[str, int] = {}   # path -> how many 429s before serving
    wrong_md5: set[str] = set()

    def do_GET(self) -> None:
        data = self.files.get(self.path)
        if data is None:
            self._reply(404, b"")
            return
        if self.throttle.get(self.path, 0) > 0:
            self.throttle[self.path] -= 1
            self._reply(429, b"slow down", {"Retry-After": "0"})
            return
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._reply(304, b"")
            return
        md5 = base64.b64encode(hashlib.md5(b"other" if self.path in self.wrong_md5 else data).digest()).decode()
        self._reply(200, data, {"ETag": etag, "x-goog-hash": f"crc32c=AAAAAA==,md5={md5}"})

    def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.log.append(("GET", self.path, code))
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bucket() -> Iterator[tuple[str, type[Bucket]]]:
    Bucket.files = {"/PyPI/all.zip": PYPI, "/Go/all.zip": GO}
    Bucket.log, Bucket.throttle, Bucket.wrong_md5 = [], {}, set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Bucket
    server.shutdown()
    server.server_close()


def test_update_downloads_the_archives_and_builds_an_index_that_finds_the_vulnerability(
        tmp_path: Path, bucket: tuple[str, type[Bucket]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = bucket
    db = tmp_path / "vulns.db"
    assert main(["vulndb", "update", "--url", url, "--db", str(db), "--ecosystem", "PyPI", "--ecosystem", "Go"]) == 0
    (tmp_path / "requirements.txt").write_text("demo-pkg==1.5\n")
    capsys.readouterr()
    main(["vulns", str(tmp_path / "requirements.txt"), "--db", str(db), "-f", "json", "--fail-on", "none"])
    assert [f["advisory"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["PYSEC-2099-1"]


def test_an_unchanged_archive_is_not_downloaded_again(tmp_path: Path, bucket: tuple[str, type[Bucket]]) -> None:
    url, server = bucket
    update(tmp_path / "vulns.db", ["PyPI"], url)
    result = update(tmp_path / "vulns.db", ["PyPI"], url)
    assert result.unchanged == ["PyPI"] and [c for _, _, c in server.log] == [200, 304]


def test_a_rate_limit_is_waited_out_as_retry_after_says(tmp_path: Path, bucket: tuple[str, type[Bucket]]) -> None:
    url, server = bucket
    server.throttle["/PyPI/all.zip"] = 2
    waits: list[float] = []
    result = update(tmp_path / "vulns.db", ["PyPI"], url, sleep=waits.append)
    assert result.fetched == ["PyPI"] and waits == [0.0, 0.0]
    assert [c for _, _, c in server.log] == [429, 429, 200]


def test_an_archive_that_does_not_match_its_md5_is_refused_and_the_cached_copy_kept(
        tmp_path: Path, bucket: tuple[str, type[Bucket]], capsys: pytest.CaptureFixture[str]) -> None:
    url, server = bucket
    db = tmp_path / "vulns.db"
    update(db, ["PyPI"], url)
    cached = (tmp_path / "osv-cache" / "PyPI" / "all.zip").read_bytes()
    server.files["/PyPI/all.zip"] = _zip([record("PYSEC-2099-9", "PyPI", "x", [{"introduced": "0"}])])
    server.wrong_md5.add("/PyPI/all.zip")
    assert main(["vulndb", "update", "--url", url, "--db", str(db), "--ecosystem", "PyPI"]) == 2
    err = capsys.readouterr().err
    assert "does not match the MD5" in err and "cached copy is used" in err
    assert (tmp_path / "osv-cache" / "PyPI" / "all.zip").read_bytes() == cached
    assert db.is_file() and not list((tmp_path / "osv-cache" / "PyPI").glob(".*part"))


def test_a_body_that_is_not_a_zip_is_refused(tmp_path: Path, bucket: tuple[str, type[Bucket]]) -> None:
    url, server = bucket
    server.files["/PyPI/all.zip"] = b"<html>captive portal</html>"
    result = update(tmp_path / "vulns.db", ["PyPI"], url)
    assert "not a zip archive" in result.failed["PyPI"] and result.archives == []


def test_nothing_available_is_exit_2_with_a_reason(tmp_path: Path, bucket: tuple[str, type[Bucket]],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = bucket
    assert main(["vulndb", "update", "--url", url, "--db", str(tmp_path / "v.db"), "--ecosystem", "Nope"]) == 2
    err = capsys.readouterr().err
    assert "Nope: not updated: HTTP 404" in err and "nothing to build" in err and "Traceback" not in err


def test_only_http_urls_are_fetched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vulndb", "update", "--url", "file:///etc", "--db", str(tmp_path / "v.db")]) == 2
    assert "must be http(s)" in capsys.readouterr().err
