"""RPM databases in the formats before sqlite: Berkeley DB (``var/lib/rpm/Packages``: RHEL/CentOS 7 and
8, Amazon Linux 2) and SUSE's ndb (``Packages.db``: SLES 15, openSUSE Leap 15). They are not read: each
is reported as skipped, with its format, so an image of one of them never looks like an image without OS
packages. A ``rpmdb.sqlite`` beside it is the database rpm uses; the old file is then a leftover.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO

from cnsec.vulns.inventory import LockfileFormat, Package, Unsupported, binary_only

_BDB_HASH_MAGIC = 0x061561  # at byte 12 of a Berkeley DB hash database, in either byte order


def kind(head: bytes) -> str:
    if head[:4] == b"RpmP":
        return "SUSE ndb"
    if len(head) >= 16 and _BDB_HASH_MAGIC in struct.unpack_from("<I", head, 12) + struct.unpack_from(">I", head, 12):
        return "Berkeley DB"
    return "an unrecognised"


def read(path: Path, handle: IO[bytes]) -> list[Package]:
    if (path.parent / "rpmdb.sqlite").is_file():
        return []
    raise Unsupported(f"rpm database in {kind(handle.read(16))} format: not read (only the sqlite rpmdb of "
                      "rpm 4.16+ is); its packages are not matched")


FORMAT = LockfileFormat("rpm-legacy", "RPM", (), binary_only, read=read, path_patterns=(
    "var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db"))
