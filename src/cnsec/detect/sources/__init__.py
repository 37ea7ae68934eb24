"""Event sources: files, gzip, stdin and followed files, read as JSON lines or whole JSON documents.

Everything is treated as a stream of lines (bounded memory); a line may hold one event or a wrapper
(CloudTrail ``{"Records": [...]}``, Kubernetes ``EventList``), which is expanded. A file that is one
pretty-printed JSON document is read whole. The source (k8s-audit, cloudtrail, gcp-audit, falco, json)
is detected from the first event unless given. Malformed lines are counted and reported with their
line number, never fatal.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cnsec.detect.fields import flat_items
from cnsec.detect.sources.managed import is_envelope, unwrap_managed
from cnsec.errors import InputError
from cnsec.model.finding import InputProblem
from cnsec.model.source import Source

MAX_PROBLEMS = 100


def sniff_source(d: dict[str, Any]) -> str:
    """Which source one (possibly wrapped) event comes from."""
    if d.get("kind") == "EventList" or "auditID" in d or (
            d.get("kind") == "Event" and "audit.k8s.io" in str(d.get("apiVersion", ""))) or (
            "verb" in d and ("objectRef" in d or "requestURI" in d)):
        return "k8s-audit"
    if "Records" in d or ("eventSource" in d and "eventName" in d):
        return "cloudtrail"
    if "protoPayload" in d or (isinstance(d.get("data"), dict) and "protoPayload" in d["data"]):
        return "gcp-audit"
    if "output" in d and "rule" in d and "priority" in d:
        return "falco"
    return "json"


def expand(d: Any) -> list[dict[str, Any]]:
    """Unwrap batches: CloudTrail ``Records``, ``EventList``/``items``, GCP ``data`` envelopes, managed
    clusters' audit exports (:mod:`cnsec.detect.sources.managed`), arrays
    (nested ones too, as deep as a JSON parser allows: see :func:`~cnsec.detect.fields.flat_items`)."""
    if isinstance(d, dict):
        return _unwrap(d)
    if not isinstance(d, list):
        return []
    return [event for item in flat_items(d) if isinstance(item, dict) for event in _unwrap(item)]


def holds_object(d: list[Any]) -> bool:
    """Is there a JSON object anywhere in ``d``? An array of batches that are all empty
    (``[{"Records": []}]``) has no events but is not malformed."""
    return any(isinstance(item, dict) for item in flat_items(d))


def _unwrap(d: dict[str, Any]) -> list[dict[str, Any]]:
    recs = d.get("Records")
    if isinstance(recs, list):
        return [r for r in recs if isinstance(r, dict)]
    if d.get("kind") == "EventList" and isinstance(d.get("items"), list):
        return [r for r in d["items"] if isinstance(r, dict)]
    inner = d.get("data")
    if isinstance(inner, dict) and "protoPayload" in inner and "protoPayload" not in d:
        return _unwrap(inner)
    if is_envelope(d):  # managed clusters' audit exports (AKS, EKS, GKE): see sources.managed
        events = unwrap_managed(d)
        if events is not None:
            return events
    return [d]


@dataclass
class ReadStats:
    lines: int = 0
    events: int = 0
    skipped: int = 0  # lines the literal prefilter proved irrelevant (not parsed)
    malformed: int = 0
    problems: list[InputProblem] = field(default_factory=list)
    #: inputs that could not be opened at all (missing, a directory, no permission): exit code 2
    unreadable: int = 0

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.malformed += 1
        self.note(file, line, message)

    def note(self, file: str, line: int | None, message: str) -> None:
        """Report something skipped that is not a malformed line (a file not read, a link not followed)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(InputProblem(file, line, message))

    def cannot_open(self, file: str, message: str) -> None:
        self.unreadable += 1
        self.note(file, None, message)

    def to_dict(self) -> dict[str, Any]:
        out = {"lines": self.lines, "events": self.events, "prefiltered": self.skipped,
               "malformed": self.malformed}
        if self.unreadable:
            out["unreadable"] = self.unreadable
        return out


#: what reading a damaged input raises (a truncated or corrupt gzip stream, a failing disk): the run
#: reports it for that input and keeps what was read before
READ_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, zlib.error)

#: read buffer of an input file: lines are taken from it one by one, and a large buffer halves what
#: that costs per line (fewer refills; about 0.25 us a line on a kilobyte-long audit event)
READ_BUFFER = 1 << 20
#: the same for the decompressed side of a gzip input, smaller: when the stream turns out truncated or
#: corrupt, the lines already decompressed into this buffer are lost with the error
GZIP_READ_BUFFER = 1 << 16


#: longest line (or whole JSON document) read: a longer one is cut there and the rest of it, up to its
#: newline, dropped unread into memory; the engine reports the line. Bounds the memory a hostile input
#: (1 GiB of zeros without a newline, 1 MB as gzip) can take; a real audit event is kilobytes, a
#: CloudTrail file of ``Records`` some megabytes
MAX_LINE = 64 << 20
#: a gzip input stops being read (reported) when it has expanded past :data:`GZIP_RATIO_FROM` bytes
#: and more than this many times its compressed size: real logs expand 5 to 50 times, a decompression
#: bomb (zeros) about 1000 times
MAX_GZIP_RATIO = 250
GZIP_RATIO_FROM = 16 << 20


class InputTooLarge(OSError):
    """An input past a size or expansion limit: one of :data:`READ_ERRORS`, so what was read before it
    is kept and the rest of the run goes on."""


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def line_too_long(raw: bytes) -> str | None:
    """The problem to report when ``raw`` was cut at :data:`MAX_LINE` (see :class:`_Guard`), else None.
    Asked only of lines that failed to parse."""
    return f"line longer than {_size(MAX_LINE)} (skipped)" if len(raw.rstrip(b"\r\n")) >= MAX_LINE else None


class _Layer(io.RawIOBase):
    """A raw stream over ``inner`` that closes it when closed."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


class _Counted(_Layer):
    """The compressed side of a gzip input, counting what was read from it (for the expansion ratio)."""

    count = 0

    def readinto(self, b: Any) -> int:
        n: int = self.inner.readinto(b)
        self.count += n
        return n


class _Guard(_Layer):
    """What every line reader reads through: lines past :data:`MAX_LINE` are cut (the rest of the line
    is dropped as it is read, never held) and a gzip stream that expands past :data:`MAX_GZIP_RATIO`
    raises :class:`InputTooLarge`. The reader above it asks for a megabyte at a time, so this costs
    one call and a look at the chunk's tail per megabyte, not per line."""

    def __init__(self, inner: Any, compressed: _Counted | None = None) -> None:
        super().__init__(inner)
        self.compressed = compressed
        self.total = 0
        self.run = 0  # bytes since the last newline
        self.dropping = False

    def _read(self, b: Any) -> int:
        n: int = self.inner.readinto(b)
        if self.compressed is not None and n:
            self.total += n
            if self.total > GZIP_RATIO_FROM and self.total > MAX_GZIP_RATIO * max(self.compressed.count, 1):
                raise InputTooLarge(
                    f"gzip expands more than {MAX_GZIP_RATIO} times (a decompression bomb?): "
                    f"stopped after {_size(self.total)}")
        return n

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while self.dropping:  # the rest of a line that was too long: skip it up to its newline
            n = self._read(view)
            if not n:
                return 0
            chunk = view[:n].tobytes()
            at = chunk.find(b"\n")
            if at >= 0:
                self.dropping = False
                rest = chunk[at:]
                view[:len(rest)] = rest
                self.run = len(rest) - 1 - rest.rfind(b"\n")
                return len(rest)
        n = self._read(view)
        if not n:
            return 0
        tail = view[max(0, n - 65536):n].tobytes()
        at = tail.rfind(b"\n")
        if at < 0 and n > 65536:
            at = view[:n].tobytes().rfind(b"\n")
            if at >= 0:
                self.run = n - at - 1
                return n
        elif at >= 0:
            self.run = len(tail) - at - 1
            return n
        if self.run + n < MAX_LINE:
            self.run += n
            return n
        keep = MAX_LINE - self.run  # the line reaches its limit in this chunk: cut it there
        self.run = 0
        self.dropping = True
        return max(keep, 0) or self.readinto(b)


class _Gunzip(gzip.GzipFile):
    """A gzip stream that closes the stream it reads when closed (``GzipFile`` leaves it open)."""

    def __init__(self, inner: _Counted) -> None:
        super().__init__(fileobj=inner)
        self._inner = inner

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._inner.close()


def open_binary(path: str) -> IO[bytes]:
    """A binary stream for ``path`` (``-`` is stdin); gzip is recognised by its magic bytes. Lines are
    read through :class:`_Guard` (length and gzip expansion bounded)."""
    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - returned to the caller, closed there
        except FileNotFoundError:
            raise InputError("file not found", Source(path)) from None
        except IsADirectoryError:
            raise InputError("is a directory", Source(path)) from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", Source(path)) from None
    buffered: io.BufferedReader = (raw if isinstance(raw, io.BufferedReader)
                                   else io.BufferedReader(raw))  # type: ignore[arg-type]
    try:
        head = buffered.peek(2)[:2]
    except OSError as exc:
        buffered.close()
        raise InputError(f"cannot read: {exc.strerror or exc}", Source(path)) from None
    if head == b"\x1f\x8b":
        counted = _Counted(buffered)
        return io.BufferedReader(_Guard(_Gunzip(counted), counted), GZIP_READ_BUFFER)
    if path != "-" and buffered.seekable():  # a plain file: the guard reads the file itself, one buffer
        file = buffered.detach()
        file.seek(0)  # the peek read ahead of the two bytes looked at
        return io.BufferedReader(_Guard(file), READ_BUFFER)
    return io.BufferedReader(_Guard(buffered), READ_BUFFER)


@dataclass
class Chunk:
    """One input line (or whole document) and what it parsed to."""

    line: int
    raw: bytes


def iter_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)`` of a JSON-lines stream; a pretty-printed single document is
    yielded whole as its first line. The first line is read now (to tell the two apart; a damaged
    first line of JSON lines is told from a document by the line after it); the rest are numbered
    by ``enumerate`` as they are read, with no Python frame per line."""
    first = stream.readline()
    number = 1  # of ``first``: blank lines before it still count
    while first and not first.strip():
        first = stream.readline()
        number += 1
    if not first:
        return iter(())
    stripped = first.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:]
    import orjson

    if stripped[:1] in (b"{", b"["):
        try:
            orjson.loads(stripped)  # a whole JSON value on the first line: JSON lines
            whole_line = True
        except orjson.JSONDecodeError:
            whole_line = False
        if not whole_line:
            # a document spread over lines, or JSON lines whose first line is damaged: the second
            # line tells, as only then does it hold a JSON object or array of its own
            second = stream.readline()
            try:
                lines_follow = isinstance(orjson.loads(second), dict | list)
            except orjson.JSONDecodeError:
                lines_follow = False
            if lines_follow:  # line 1 is reported as malformed by the reader; nothing else is lost
                return itertools.chain(((number, stripped), (number + 1, second)),
                                       enumerate(stream, number + 2))
            rest = stream.read(MAX_LINE)  # bounded: a document is held whole to be parsed
            if len(rest) >= MAX_LINE:
                raise InputTooLarge(f"a JSON document longer than {_size(MAX_LINE)} (split it into JSON lines)")
            return iter(((number, stripped + second + rest),))
    return itertools.chain(((number, stripped),), enumerate(stream, number + 1))


def iter_chunks(stream: IO[bytes]) -> Iterator[Chunk]:
    """Lines of a JSON-lines stream as :class:`Chunk` (see :func:`iter_lines`)."""
    for n, raw in iter_lines(stream):
        yield Chunk(n, raw)


def expand_inputs(paths: list[str], skipped: list[InputProblem] | None = None) -> list[str]:
    """Directories expand to their files (sorted). Hidden and ``_``-prefixed files are not read, nor
    links that lead outside the directory (``logs/x -> /etc/passwd``): each is added to ``skipped``
    so the caller reports it. A link to a directory is not followed (what it holds inside the root is
    read where it is)."""
    out: list[str] = []
    for p in paths:
        if p == "-" or not Path(p).is_dir():
            out.append(p)
            continue
        root = Path(p).resolve()
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(p):  # links to directories are not descended into
            for name in sorted(dirnames) + sorted(filenames):
                f = Path(dirpath, name)
                is_link = f.is_symlink()
                if is_link:
                    target = f.resolve()
                    if not target.is_relative_to(root):
                        _skip(skipped, f, f"not read: a link to {target}, outside {p}")
                        continue
                if name in dirnames or not f.is_file():
                    if is_link and not f.exists():
                        _skip(skipped, f, "not read: a broken link")
                    continue
                if name.startswith((".", "_")):
                    _skip(skipped, f, f"not read: the name starts with {name[0]!r} (pass the file itself to read it)")
                    continue
                found.append(f)
        out.extend(str(f) for f in sorted(found))
    return out


def _skip(skipped: list[InputProblem] | None, path: Path, message: str) -> None:
    if skipped is not None:
        skipped.append(InputProblem(str(path), None, message))
