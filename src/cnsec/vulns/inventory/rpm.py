"""RPM: the sqlite rpmdb of a root filesystem (``var/lib/rpm/rpmdb.sqlite``, and
``usr/lib/sysimage/rpm/rpmdb.sqlite`` where rpm 4.16+ moved it), the format of RHEL 9, Rocky and AlmaLinux
9, Fedora 33+ and openSUSE Tumbleweed.

Each row of its ``Packages`` table is an rpm header blob, read here without rpm: two big-endian counts
(index entries ``il``, data bytes ``dl``), ``il`` 16-byte entries (tag, type, offset, count), then the
data. Every offset is checked against the data before it is read, so a corrupt or hostile row costs that
row (reported with its row number), never the scan. The distributions' OSV advisories (Rocky Linux,
AlmaLinux, openSUSE) name *binary* packages and ``epoch:version-release`` fixes, so each package is
matched under its own name and that EVR; ``gpg-pubkey`` rows are the imported signing keys, not software.

The sqlite file is opened read-only and immutable (no lock, no journal written beside it); a ``-wal``
file that rpm did not yet fold back is not read.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path
from typing import IO
from urllib.parse import quote

from cnsec.vulns.inventory import LockfileFormat, Package, PartlyRead, bad, binary_only
from cnsec.vulns.inventory._osrelease import RPM_VENDORS, ecosystem, read_os_release

NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
_WANTED = frozenset({NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM})
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
#: rpm's own limits (lib/header.c): at most 65,535 index entries and 256 MiB of data in one header
MAX_ENTRIES = 0xFFFF
MAX_DATA = 256 << 20
#: rows of one rpmdb (a full Fedora desktop has about 3,000)
MAX_ROWS = 200_000
PATTERNS = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")


class HeaderError(ValueError):
    """A header blob that does not hold together."""


def header(blob: bytes) -> dict[int, str | int]:
    """The name, epoch, version, release, arch and source rpm of one header blob (tags absent from the
    header are absent from the result); HeaderError on any offset, count or type out of place."""
    if len(blob) < 8:
        raise HeaderError(f"{len(blob)} bytes: shorter than the 8-byte header preamble")
    il, dl = struct.unpack_from(">II", blob)
    if il == 0 or il > MAX_ENTRIES or dl > MAX_DATA:
        raise HeaderError(f"implausible header: {il} index entries, {dl} data bytes")
    start = 8 + 16 * il
    if start + dl > len(blob):
        raise HeaderError(f"{il} index entries and {dl} data bytes do not fit in the {len(blob)}-byte blob")
    out: dict[int, str | int] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in _WANTED:
            continue
        if offset < 0 or offset >= dl:
            raise HeaderError(f"tag {tag}: offset {offset} outside the {dl} data bytes")
        at = start + offset
        if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
            end = blob.find(b"\0", at, start + dl)
            if end < 0:
                raise HeaderError(f"tag {tag}: string not terminated inside the data")
            out[tag] = blob[at:end].decode("utf-8", "replace")
        elif kind == _INT32:
            if count < 1 or offset + 4 > dl:
                raise HeaderError(f"tag {tag}: integer outside the {dl} data bytes")
            out[tag] = struct.unpack_from(">I", blob, at)[0]
        else:
            raise HeaderError(f"tag {tag}: type {kind} where a string or integer belongs")
    return out


def _root(path: Path) -> Path:
    posix = path.as_posix()
    for pattern in PATTERNS:
        if posix == pattern or posix.endswith("/" + pattern):
            return Path(posix[: len(posix) - len(pattern)] or ".")
    return Path(".")


def evr(fields: dict[int, str | int]) -> str:
    """``epoch:version-release`` (no ``epoch:`` when the header has none), as OSV's fixes write it."""
    epoch = fields.get(EPOCH)
    return f"{epoch}:" * (epoch is not None) + f"{fields[VERSION]}-{fields[RELEASE]}"


def read(path: Path, handle: IO[bytes]) -> list[Package]:
    """The packages of the rpmdb at ``path`` (opened by sqlite itself: ``handle`` is not read)."""
    root = _root(path)
    eco = ecosystem(root, "rpm")
    release = read_os_release(root)
    distro_id = release.get("ID", "").lower()
    vendor = RPM_VENDORS.get(distro_id, distro_id or "rpm")
    distro = f"&distro={quote(distro_id)}-{quote(release.get('VERSION_ID', ''))}" if distro_id else ""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise bad(path, None, f"not a readable sqlite rpmdb ({exc})") from None
    out: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    try:
        rows = conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum LIMIT ?", (MAX_ROWS + 1,))
        for n, (hnum, blob) in enumerate(rows):
            if n == MAX_ROWS:
                problems.append((None, f"more than {MAX_ROWS} packages; the rest is not read"))
                break
            try:
                if not isinstance(blob, bytes):
                    raise HeaderError("not a blob")
                fields = header(blob)
                missing = [t for t in (NAME, VERSION, RELEASE) if not fields.get(t)]
                if missing:
                    raise HeaderError(f"no {', '.join(str(t) for t in missing)} tag")
            except HeaderError as exc:
                problems.append((None, f"package row {hnum}: corrupt rpm header ({exc}); skipped"))
                continue
            name = str(fields[NAME])
            if name == "gpg-pubkey":
                continue
            version = evr(fields)
            qualifiers = f"?arch={quote(str(fields.get(ARCH, 'noarch')))}"
            if fields.get(EPOCH) is not None:
                qualifiers += f"&epoch={fields[EPOCH]}"
            if fields.get(SOURCERPM):
                qualifiers += f"&upstream={quote(str(fields[SOURCERPM]))}"
            plain = f"{fields[VERSION]}-{fields[RELEASE]}"
            out.append(Package(eco, name, version, str(path), None,
                               purl=f"pkg:rpm/{vendor}/{quote(name)}@{quote(plain)}{qualifiers}{distro}"))
    except sqlite3.Error as exc:
        raise bad(path, None, f"not a readable sqlite rpmdb ({exc})") from None
    finally:
        conn.close()
    if problems:
        raise PartlyRead(out, problems)
    return out


FORMAT = LockfileFormat("rpm", "RPM", (), binary_only, path_patterns=PATTERNS, read=read, max_bytes=1 << 30)
