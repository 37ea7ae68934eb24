"""Go executables: the build information the Go linker writes into every binary since Go 1.13 (what
``go version -m`` prints): the Go version, the main module and every dependency module with its version.

The ELF section ``.go.buildinfo`` holds a 32-byte header (``\\xff Go buildinf:``, pointer size, flags);
since Go 1.18 the version and module strings follow it inline, each prefixed by its varint length, and
before that the header holds two pointers to Go string headers, resolved through the program headers.
A binary without section headers (``sstrip``, packers) is searched for the header in its first writable
segment, 16-byte aligned, as Go's own ``debug/buildinfo`` does; one with a section table but no
``.go.buildinfo`` is not a Go program (the Go linker always names it, and ``strip`` keeps the table), so
a large C program's data is never searched. Every offset is checked against the file and
every read is bounded: a truncated or hostile ELF costs that file, not the scan.

Packages: each ``dep`` (its ``=>`` replacement when there is one) as a Go module, the main module when it
has a version (``(devel)``, a local build, names nothing published), and the toolchain as OSV's
``stdlib`` package (``go1.21.5`` is stdlib 1.21.5), which is where most Go advisories of an old binary are.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import IO

from cnsec.vulns.inventory import LockfileFormat, Package, bad, binary_only

MAGIC = b"\xff Go buildinf:"
ELF_MAGIC = b"\x7fELF"
#: bounds: section headers read, data searched for the header, strings read
MAX_SECTIONS = 4096
SEARCH_BYTES = 16 << 20
MAX_STRING = 4 << 20
_SENTINEL = 16  # the modinfo string is wrapped in 16 random bytes each side


class NotGo(Exception):
    """An ELF file without Go build information (a C program): not a package source."""


class _Elf:
    def __init__(self, path: Path, fh: IO[bytes]) -> None:
        self.path, self.fh = path, fh
        self.size = _size(fh)
        ident = self.at(0, 64)
        self.is64 = ident[4:5] == b"\x02"
        if len(ident) < (64 if self.is64 else 52) or ident[:4] != ELF_MAGIC:
            raise bad(path, None, "truncated ELF header")
        if ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise bad(path, None, f"ELF class {ident[4]} / data encoding {ident[5]} is not a valid ELF")
        self.end = "<" if ident[5] == 1 else ">"
        if self.is64:
            (self.phoff, self.shoff, _, _, self.phentsize, self.phnum, self.shentsize, self.shnum,
             self.shstrndx) = struct.unpack_from(self.end + "QQIHHHHHH", ident, 32)
        else:
            (self.phoff, self.shoff, _, _, self.phentsize, self.phnum, self.shentsize, self.shnum,
             self.shstrndx) = struct.unpack_from(self.end + "IIIHHHHHH", ident, 28)

    def at(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, fewer at the end of the file, none outside it."""
        if offset < 0 or offset >= self.size or size <= 0:
            return b""
        self.fh.seek(offset)
        return self.fh.read(min(size, self.size - offset))

    def segments(self) -> list[tuple[int, int, int, int]]:
        """(vaddr, file offset, file size, flags) of each PT_LOAD segment."""
        out: list[tuple[int, int, int, int]] = []
        want = 56 if self.is64 else 32
        if self.phentsize < want or self.phnum > MAX_SECTIONS:
            return out
        table = self.at(self.phoff, self.phentsize * self.phnum)
        for i in range(len(table) // self.phentsize):
            entry = table[i * self.phentsize:(i + 1) * self.phentsize]
            if self.is64:
                kind, flags, offset, vaddr, _, filesz = struct.unpack_from(self.end + "IIQQQQ", entry)
            else:
                kind, offset, vaddr, _, filesz, _, flags = struct.unpack_from(self.end + "IIIIIII", entry)
            if kind == 1:
                out.append((vaddr, offset, filesz, flags))
        return out

    @property
    def has_sections(self) -> bool:
        want = 64 if self.is64 else 40
        return bool(self.shoff) and self.shentsize >= want and 0 < self.shnum <= MAX_SECTIONS \
            and self.shstrndx < self.shnum

    def section(self, wanted: bytes) -> tuple[int, int] | None:
        """(file offset, size) of the section named ``wanted``, or None."""
        if not self.has_sections:
            return None
        table = self.at(self.shoff, self.shentsize * self.shnum)
        if len(table) < self.shentsize * self.shnum:
            raise bad(self.path, None, "truncated ELF: the section headers run past the end of the file")
        headers = []
        for i in range(self.shnum):
            entry = table[i * self.shentsize:(i + 1) * self.shentsize]
            if self.is64:
                name, _, _, _, offset, size = struct.unpack_from(self.end + "IIQQQQ", entry)
            else:
                name, _, _, _, offset, size = struct.unpack_from(self.end + "IIIIII", entry)
            headers.append((name, offset, size))
        _, str_off, str_size = headers[self.shstrndx]
        names = self.at(str_off, min(str_size, 1 << 20))
        for name, offset, size in headers:
            if names[name:name + len(wanted) + 1] == wanted + b"\0":
                return offset, size
        return None

    def read_vaddr(self, vaddr: int, size: int) -> bytes:
        for start, offset, filesz, _ in self.segments():
            if start <= vaddr < start + filesz:
                return self.at(offset + vaddr - start, min(size, start + filesz - vaddr))
        return b""


def _size(fh: IO[bytes]) -> int:
    fh.seek(0, os.SEEK_END)
    return fh.tell()


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _header_at(elf: _Elf) -> tuple[int, bytes]:
    """The file offset of the build-info header and the bytes from it on (bounded)."""
    found = elf.section(b".go.buildinfo")
    if found is not None:
        data = elf.at(found[0], min(found[1], SEARCH_BYTES))
        if data.startswith(MAGIC):
            return found[0], data
    elif elf.has_sections:
        raise NotGo  # the Go linker always names the section; strip keeps section tables: a C program
    # no section table (sstrip, upx) or a moved header: search the first writable segment
    for _, offset, filesz, flags in elf.segments():
        if flags & 2:  # PF_W
            data = elf.at(offset, min(filesz, SEARCH_BYTES))
            pos = data.find(MAGIC)
            while pos >= 0 and pos % 16:
                pos = data.find(MAGIC, pos + 1)
            if pos >= 0:
                return offset + pos, data[pos:]
            break
    raise NotGo


def _strings(elf: _Elf, data: bytes) -> tuple[str, bytes]:
    """(Go version, module info) from the header at the start of ``data``."""
    if len(data) < 32:
        raise bad(elf.path, None, "truncated Go build info header")
    ptr_size, flags = data[14], data[15]
    if flags & 2:  # Go 1.18+: two varint-prefixed strings after the header
        strings = []
        pos = 32
        for _ in range(2):
            try:
                length, pos = _varint(data, pos)
            except ValueError:
                raise bad(elf.path, None, "truncated Go build info (string length)") from None
            if length > MAX_STRING or pos + length > len(data):
                raise bad(elf.path, None, "truncated Go build info (string runs past the data)")
            strings.append(data[pos:pos + length])
            pos += length
        return strings[0].decode("utf-8", "replace"), strings[1]
    if ptr_size not in (4, 8):
        raise bad(elf.path, None, f"Go build info with a pointer size of {ptr_size}")
    end = ">" if flags & 1 else "<"
    fmt = end + ("Q" if ptr_size == 8 else "I")

    def gostring(addr: int) -> bytes:
        head = elf.read_vaddr(addr, 2 * ptr_size)
        if len(head) < 2 * ptr_size:
            raise bad(elf.path, None, "Go build info points outside the file")
        ptr, length = struct.unpack_from(end + ("QQ" if ptr_size == 8 else "II"), head)
        if length > MAX_STRING:
            raise bad(elf.path, None, "Go build info string is implausibly long")
        return elf.read_vaddr(ptr, length)

    version_ptr = struct.unpack_from(fmt, data, 16)[0]
    mod_ptr = struct.unpack_from(fmt, data, 16 + ptr_size)[0]
    return gostring(version_ptr).decode("utf-8", "replace"), gostring(mod_ptr)


_GO_VERSION = re.compile(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:rc|beta)\d+)?")


def stdlib_version(go: str) -> str | None:
    """``go1.21.5`` -> ``1.21.5``, ``go1.22rc1`` -> ``1.22.0-rc.1`` (OSV's stdlib versions); a
    ``devel`` toolchain -> None."""
    m = _GO_VERSION.match(go.strip())
    if m is None:
        return None
    core = f"{m.group(1)}.{m.group(2) or 0}.{m.group(3) or 0}"
    pre = re.match(r"(\D+)(\d+)", m.group(4) or "")
    return f"{core}-{pre.group(1)}.{pre.group(2)}" if pre else core


def modules(modinfo: bytes) -> list[tuple[str, str]]:
    """(module path, version) of the main module (when versioned) and each dependency, replacements
    applied (a ``=>`` line replaces the ``dep`` above it; a local replacement has no version). Lines end
    at ``\n`` only: the random sentinel bytes around the text may hold any other line break."""
    if len(modinfo) >= 2 * _SENTINEL + 1 and modinfo[-_SENTINEL - 1:-_SENTINEL] == b"\n":
        modinfo = modinfo[_SENTINEL:-_SENTINEL]
    out: list[tuple[str, str]] = []
    for line in modinfo.decode("utf-8", "replace").split("\n"):
        parts = line.split("\t")
        versioned = len(parts) >= 3 and parts[2] not in ("", "(devel)")
        if parts[0] in ("mod", "dep") and versioned:
            out.append((parts[1], parts[2]))
        elif parts[0] == "=>" and out:
            out.pop()
            if len(parts) >= 3 and parts[2]:
                out.append((parts[1], parts[2]))
    return out


def read(path: Path, handle: IO[bytes]) -> list[Package]:
    """The modules of the Go executable ``handle``; ``[]`` for an ELF file that is not a Go program."""
    elf = _Elf(path, handle)
    try:
        _, data = _header_at(elf)
    except NotGo:
        return []
    go, modinfo = _strings(elf, data)
    out = [Package("Go", name, version, str(path), None) for name, version in modules(modinfo)]
    stdlib = stdlib_version(go)
    if stdlib is not None:
        out.append(Package("Go", "stdlib", stdlib, str(path), None))
    return out


FORMAT = LockfileFormat("go-binary", "Go", (), binary_only, read=read, installed=True, magic=ELF_MAGIC,
                        self_contained=True, max_bytes=4 << 30)
