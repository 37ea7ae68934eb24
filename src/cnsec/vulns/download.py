"""``cnsec vulndb update``: OSV's per-ecosystem archives over HTTPS, kept in a cache, then the index.

What users of the peers ran into, and what is done about it here:

* rate limits and flaky mirrors (trivy-db#442): a 429 or 5xx is retried with backoff, honouring
  ``Retry-After`` (capped), and an archive that cannot be fetched keeps its cached copy — the index is
  rebuilt from what is at hand and the failure is reported, never a silent half-update;
* downloading everything every time: conditional requests (``If-None-Match`` with the cached ETag), so an
  unchanged archive costs one round trip;
* trusting whatever arrives: the size is capped, ``x-goog-hash: md5=…`` (what OSV's bucket sends) is
  checked when present, and the zip is opened and every member's CRC verified before it replaces the
  cached copy (written beside it and renamed, so a crash leaves the old one).

Only the standard library's HTTP client is used: no new dependency for a once-a-day download.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE = "https://osv-vulnerabilities.storage.googleapis.com"
#: what `cnsec vulns` reads today; `--ecosystem` chooses others (names as OSV spells them)
DEFAULT_ECOSYSTEMS = ("PyPI", "npm", "Go", "crates.io", "RubyGems", "Packagist", "Maven", "NuGet",
                      "Debian", "Ubuntu", "Alpine")
MAX_ARCHIVE_BYTES = 2 << 30
ATTEMPTS = 4
MAX_WAIT_S = 60.0


@dataclass(slots=True)
class UpdateResult:
    fetched: list[str] = field(default_factory=list)     # downloaded anew
    unchanged: list[str] = field(default_factory=list)   # the cached copy is current (304)
    failed: dict[str, str] = field(default_factory=dict)  # ecosystem -> why (its cached copy, if any, is used)
    archives: list[Path] = field(default_factory=list)   # what the index is built from


def cache_dir(db: Path) -> Path:
    return db.parent / "osv-cache"


def _meta_path(archive: Path) -> Path:
    return archive.with_suffix(".json")


def _retry_after(value: str | None, attempt: int) -> float:
    if value:
        try:
            return min(float(value), MAX_WAIT_S)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            if when is not None:
                return max(0.0, min(when.timestamp() - time.time(), MAX_WAIT_S))
    return min(2.0 ** attempt, MAX_WAIT_S)


def _md5_of(header: str | None) -> str | None:
    """The base64 MD5 of an ``x-goog-hash`` header (``crc32c=…,md5=…``), if it has one."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "md5" and value:
            return value
    return None


def fetch(url: str, target: Path, *, sleep: Callable[[float], None] = time.sleep,
          timeout: float = 60.0) -> bool:
    """Download ``url`` to ``target`` if it changed; True when a new copy was written, False on 304.
    Raises OSError (or ValueError for a bad archive) with the reason; ``target`` is then untouched."""
    meta = _meta_path(target)
    etag = None
    if target.is_file() and meta.is_file():
        try:
            etag = json.loads(meta.read_text()).get("etag")
        except (OSError, ValueError):
            etag = None
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        request = urllib.request.Request(url, headers={  # noqa: S310 - update() admits http(s) only
            "User-Agent": "cnsec-vulndb", **({"If-None-Match": etag} if etag else {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https/http only
                return _store(response, target, meta)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return False
            last = exc
            if exc.code == 429 or exc.code >= 500:
                sleep(_retry_after(exc.headers.get("Retry-After"), attempt))
                continue
            raise OSError(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = exc
            sleep(_retry_after(None, attempt))
    raise OSError(f"gave up after {ATTEMPTS} attempts: {last}")


def _store(response: object, target: Path, meta: Path) -> bool:
    headers = response.headers  # type: ignore[attr-defined]
    length = headers.get("Content-Length")
    if length is not None and int(length) > MAX_ARCHIVE_BYTES:
        raise ValueError(f"archive of {int(length)} bytes is larger than {MAX_ARCHIVE_BYTES} bytes; refused")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with tmp.open("wb") as out:
            while chunk := response.read(1 << 20):  # type: ignore[attr-defined]
                size += len(chunk)
                if size > MAX_ARCHIVE_BYTES:
                    raise ValueError(f"archive larger than {MAX_ARCHIVE_BYTES} bytes; refused")
                digest.update(chunk)
                out.write(chunk)
        expected = _md5_of(headers.get("x-goog-hash"))
        if expected is not None and base64.b64encode(digest.digest()).decode() != expected:
            raise ValueError("the archive does not match the MD5 the server announced (x-goog-hash)")
        if length is not None and size != int(length):
            raise ValueError(f"truncated: {size} of {int(length)} bytes")
        try:
            with zipfile.ZipFile(tmp) as zf:
                bad = zf.testzip()
        except zipfile.BadZipFile as exc:
            raise ValueError(f"not a zip archive ({exc})") from None
        if bad is not None:
            raise ValueError(f"corrupt member {bad!r} in the archive")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    meta.write_text(json.dumps({"etag": headers.get("ETag"), "bytes": size, "fetched": time.time()}))
    return True


def update(db: Path, ecosystems: Sequence[str] = DEFAULT_ECOSYSTEMS, base: str = DEFAULT_BASE, *,
           sleep: Callable[[float], None] = time.sleep) -> UpdateResult:
    """Bring every ecosystem's archive up to date in the cache; the archives to build from are every
    cached one of the asked ecosystems (fresh or, when its download failed, the previous copy)."""
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"--url must be http(s), not {base!r}")
    result = UpdateResult()
    for eco in ecosystems:
        archive = cache_dir(db) / eco / "all.zip"
        try:
            changed = fetch(f"{base.rstrip('/')}/{urllib.parse.quote(eco)}/all.zip", archive, sleep=sleep)
            (result.fetched if changed else result.unchanged).append(eco)
        except (OSError, ValueError) as exc:
            result.failed[eco] = str(exc)
        if archive.is_file():
            result.archives.append(archive)
    return result
