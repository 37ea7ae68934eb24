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
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cnsec.detect.fields import flat_items
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
    """Unwrap batches: CloudTrail ``Records``, ``EventList``/``items``, GCP ``data`` envelopes, arrays
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
        return [inner]
    return [d]


@dataclass
class ReadStats:
    lines: int = 0
    events: int = 0
    skipped: int = 0  # lines the literal prefilter proved irrelevant (not parsed)
    malformed: int = 0
    problems: list[InputProblem] = field(default_factory=list)

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.malformed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(InputProblem(file, line, message))

    def to_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "events": self.events, "prefiltered": self.skipped,
                "malformed": self.malformed}


#: what reading a damaged input raises (a truncated or corrupt gzip stream, a failing disk): the run
#: reports it for that input and keeps what was read before
READ_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, zlib.error)

#: read buffer of an input file: lines are taken from it one by one, and a large buffer halves what
#: that costs per line (fewer refills; about 0.25 us a line on a kilobyte-long audit event)
READ_BUFFER = 1 << 20
#: the same for the decompressed side of a gzip input, smaller: when the stream turns out truncated or
#: corrupt, the lines already decompressed into this buffer are lost with the error
GZIP_READ_BUFFER = 1 << 16


class _Gunzip(gzip.GzipFile):
    """A gzip stream that closes the stream it reads when closed (``GzipFile`` leaves it open)."""

    def __init__(self, inner: io.BufferedReader) -> None:
        super().__init__(fileobj=inner)
        self._inner = inner

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._inner.close()


def open_binary(path: str) -> IO[bytes]:
    """A binary stream for ``path`` (``-`` is stdin); gzip is recognised by its magic bytes."""
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
    head = buffered.peek(2)[:2]
    if head == b"\x1f\x8b":
        return io.BufferedReader(_Gunzip(buffered), GZIP_READ_BUFFER)
    return buffered


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
        except orjson.JSONDecodeError:
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
            return iter(((number, stripped + second + stream.read()),))
    return itertools.chain(((number, stripped),), enumerate(stream, number + 1))


def iter_chunks(stream: IO[bytes]) -> Iterator[Chunk]:
    """Lines of a JSON-lines stream as :class:`Chunk` (see :func:`iter_lines`)."""
    for n, raw in iter_lines(stream):
        yield Chunk(n, raw)


def expand_inputs(paths: list[str]) -> list[str]:
    """Directories expand to their files (sorted, hidden files skipped)."""
    out: list[str] = []
    for p in paths:
        if p != "-" and Path(p).is_dir():
            out.extend(str(f) for f in sorted(Path(p).rglob("*"))
                       if f.is_file() and not f.name.startswith(".") and not f.name.startswith("_"))
        else:
            out.append(p)
    return out
