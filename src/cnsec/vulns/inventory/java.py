"""Java archives: ``*.jar``, ``*.war``, ``*.ear`` and the archives nested in them (``WEB-INF/lib/*.jar``,
Spring Boot's ``BOOT-INF/lib/*.jar``), to a depth of :data:`MAX_DEPTH`.

Maven writes ``META-INF/maven/<groupId>/<artifactId>/pom.properties`` into every artifact it builds,
and a shaded jar keeps those of what it shaded in: each one is a Maven package ``groupId:artifactId``
at its ``version``. An archive without one is named by its ``MANIFEST.MF``: ``Implementation-Title``
and ``Implementation-Version``, the group from ``Implementation-Vendor-Id`` (what Maven's archiver writes
there); without a group it cannot be named in the Maven ecosystem and is counted as not matched.

A zip is read through its central directory, which is checked first (at most :data:`MAX_ENTRIES`
entries in at most 64 MiB), and only the small metadata files and nested archives are inflated, each to
its declared size and a cap: a zip bomb or a lying header costs that archive, not the scan, and nested
archives spool to a temporary file beyond 8 MiB (memory stays bounded).
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO
from urllib.parse import quote

from cnsec.vulns.inventory import LockfileFormat, Package, PartlyRead, bad, binary_only
from cnsec.vulns.inventory._purl import UNSUPPORTED

MAX_DEPTH = 3
MAX_ENTRIES = 200_000
MAX_DIRECTORY = 64 << 20
MAX_META = 1 << 20
MAX_NESTED = 512 << 20
#: all the bytes inflated for one archive and everything nested in it: entries that overlap (one deflated
#: stream named by thousands of directory entries) cannot multiply the work past this
MAX_INFLATED = 2 << 30
ARCHIVES = (".jar", ".war", ".ear")
#: what a damaged, encrypted or exotic (Deflate64) zip raises from zipfile and zlib
_ZIP_ERRORS = (ValueError, zipfile.BadZipFile, OSError, EOFError, struct.error, NotImplementedError,
               RuntimeError, zlib.error)
_POM = re.compile(r"^META-INF/maven/([^/]+)/([^/]+)/pom\.properties$")


def _directory_size(fh: IO[bytes]) -> tuple[int, int]:
    """(entries, central directory bytes) from the end-of-central-directory record (zip64 too), read
    before ``zipfile`` loads the directory whole; ValueError when there is none."""
    fh.seek(0, 2)
    size = fh.tell()
    tail_at = max(0, size - (65535 + 22))
    fh.seek(tail_at)
    tail = fh.read()
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        raise ValueError("no end of central directory: not a zip archive, or truncated")
    count, cd_size = struct.unpack_from("<HI", tail, pos + 10)
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and pos >= 20 and tail[pos - 20:pos - 16] == b"PK\x06\x07":
        (z64_at,) = struct.unpack_from("<Q", tail, pos - 12)
        fh.seek(z64_at)
        record = fh.read(56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            raise ValueError("broken zip64 end of central directory")
        count, cd_size = struct.unpack_from("<QQ", record, 32)
    return count, cd_size


def _properties(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, value = (*re.split(r"\s*[=:]\s*", line, maxsplit=1), "")[:2]
        out.setdefault(key, value.strip())
    return out


def _manifest(text: str) -> dict[str, str]:
    """The main section of a MANIFEST.MF (continuation lines start with a space)."""
    out: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            break  # the main section ends at the first blank line
        if line.startswith(" ") and key:
            out[key] += line[1:]
            continue
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


class _Budget:
    """What one top-level archive may still inflate, nested archives included."""

    def __init__(self) -> None:
        self.left = MAX_INFLATED


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, out: IO[bytes], budget: _Budget) -> None:
    """Inflate ``info`` into ``out``, refusing a declared or actual size over ``cap`` or over what the
    archive has left to inflate."""
    if info.file_size > cap:
        raise ValueError(f"{info.filename}: {info.file_size} bytes inflated (over {cap >> 20} MiB); not read")
    with zf.open(info) as src:
        copied = 0
        while chunk := src.read(1 << 16):
            copied += len(chunk)
            budget.left -= len(chunk)
            if copied > cap:
                raise ValueError(f"{info.filename}: inflates past {cap >> 20} MiB; not read")
            if budget.left < 0:
                raise ValueError(f"{info.filename}: the archive inflates past {MAX_INFLATED >> 20} MiB in all; "
                                 "not read")
            out.write(chunk)


def _archive(fh: IO[bytes], shown: str, depth: int, out: list[Package],
             problems: list[tuple[int | None, str]], budget: _Budget) -> None:
    entries, directory = _directory_size(fh)
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY:
        raise ValueError(f"{entries} entries in a {directory >> 20} MiB central directory; refused")
    stem = shown.rsplit("/", 1)[-1]
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        found: list[Package] = []
        for info in infos:
            m = _POM.match(info.filename)
            if m is None:
                continue
            buf = io.BytesIO()
            try:
                _read_member(zf, info, MAX_META, buf, budget)
            except _ZIP_ERRORS as exc:
                problems.append((None, f"{shown}: {exc}"))
                continue
            props = _properties(buf.getvalue().decode("latin-1"))
            group, artifact = props.get("groupId") or m.group(1), props.get("artifactId") or m.group(2)
            if props.get("version"):
                found.append(Package("Maven", f"{group}:{artifact}", props["version"], shown, None))
        out += found
        if not any(p.name.rpartition(":")[2] in stem for p in found):
            # no pom.properties of its own (none, or only those of what it shaded): the manifest names it
            _from_manifest(zf, shown, found or None, problems, out, budget)
        nested = [info for info in infos if info.filename.lower().endswith(ARCHIVES) and not info.is_dir()]
        for n, info in enumerate(nested):
            if budget.left <= 0:  # one line for what is left, not one per archive
                problems.append((None, f"{shown}: {len(nested) - n} nested archives not read (the "
                                       f"{MAX_INFLATED >> 20} MiB inflation budget is spent)"))
                break
            inner = f"{shown}!/{info.filename}"
            if depth >= MAX_DEPTH:
                problems.append((None, f"{inner}: nested deeper than {MAX_DEPTH} archives; not read"))
                continue
            with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
                try:
                    _read_member(zf, info, MAX_NESTED, spool, budget)
                    spool.seek(0)
                    _archive(spool, inner, depth + 1, out, problems, budget)
                except _ZIP_ERRORS as exc:
                    problems.append((None, f"{inner}: not a readable archive ({exc})"))


def _from_manifest(zf: zipfile.ZipFile, shown: str, named: list[Package] | None,
                   problems: list[tuple[int | None, str]], out: list[Package], budget: _Budget) -> None:
    """The archive named by its manifest, unless a pom.properties in it already named it (``named``).
    An archive that names nothing at all (no pom.properties, no title or version) is still listed, as a
    package of an unsupported ecosystem, so it is counted as not matched instead of vanishing; so is
    one without a group for the Maven ecosystem."""
    fields: dict[str, str] = {}
    buf = io.BytesIO()
    try:
        _read_member(zf, zf.getinfo("META-INF/MANIFEST.MF"), MAX_META, buf, budget)
        fields = _manifest(buf.getvalue().decode("utf-8", "replace"))
    except KeyError:
        pass  # no manifest
    except _ZIP_ERRORS as exc:
        problems.append((None, f"{shown}: {exc}"))
    title = fields.get("Implementation-Title") or fields.get("Bundle-Name", "")
    version = fields.get("Implementation-Version") or fields.get("Bundle-Version", "")
    group = fields.get("Implementation-Vendor-Id", "")
    if named is not None and (not title or not version or any(
            p.version == version and p.name.rpartition(":")[2] == title for p in named)):
        return
    if title and version and group and " " not in title:
        out.append(Package("Maven", f"{group}:{title}", version, shown, None))
        return
    name = title or shown.rsplit("/", 1)[-1]
    out.append(Package(UNSUPPORTED + "maven", name, version, shown, None,
                       purl=f"pkg:generic/{quote(name)}" + (f"@{quote(version)}" if version else "")))


def read(path: Path, handle: IO[bytes]) -> list[Package]:
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    try:
        _archive(handle, str(path), 1, out, problems, _Budget())
    except _ZIP_ERRORS as exc:
        raise bad(path, None, f"not a readable Java archive ({exc})") from None
    if problems:
        raise PartlyRead(out, problems)
    return out


FORMAT = LockfileFormat("java-archive", "Maven", tuple(f"*{ext}" for ext in ARCHIVES), binary_only, read=read,
                        installed=True, self_contained=True, max_bytes=4 << 30)
