"""The response audit trail: append-only JSON lines, each record chained to the one before it.

Every record carries ``prev`` (the previous record's ``hash``; 64 zeros for the first) and ``hash`` =
SHA-256 over the record's canonical JSON without ``hash`` (keys sorted, no insignificant whitespace,
UTF-8). Editing, inserting, deleting or reordering any record breaks the chain at that record, which
:func:`verify` reports with its line. Cutting records off the *end* leaves a valid shorter chain: that is
what ``--expect-head`` (the head hash kept somewhere else) is for.

Writes take an exclusive ``flock``, append with ``O_APPEND`` and ``fsync`` before returning, so two
``cnsec respond`` runs never interleave or fork the chain, and a recorded decision survives a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cnsec.errors import InputError
from cnsec.model.source import Source

GENESIS = "0" * 64
SCHEMA = "cnsec.audit/v1"


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def default_path() -> Path:
    """``$CNSEC_AUDIT_LOG``, else ``$XDG_STATE_HOME/cnsec/respond-audit.jsonl`` (``~/.local/state``)."""
    explicit = os.environ.get("CNSEC_AUDIT_LOG")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "cnsec" / "respond-audit.jsonl"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _last_line(handle: Any) -> bytes | None:
    """The last non-empty line of a binary file, read backwards in blocks (the log can be large)."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    block = 8192
    data = b""
    pos = end
    while pos > 0:
        step = min(block, pos)
        pos -= step
        handle.seek(pos)
        data = handle.read(step) + data
        stripped = data.rstrip(b"\n")
        if b"\n" in stripped:
            return bytes(stripped.rsplit(b"\n", 1)[1])
    stripped = data.rstrip(b"\n")
    return bytes(stripped) or None


@dataclass(slots=True)
class _Batch:
    """The open, locked trail of a batch and its current head."""

    fd: int
    prev: str
    seq: int


class AuditTrail:
    """Append decisions. The engine reads them back (rate limits, idempotency) through :func:`verify`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._batch: _Batch | None = None  # while a batch holds the lock

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _head(self, fd: int) -> tuple[str, int]:
        with os.fdopen(os.dup(fd), "rb") as reader:
            last = _last_line(reader)
        if last is None:
            return GENESIS, 1
        try:
            head = json.loads(last)
            return str(head["hash"]), int(head["seq"]) + 1
        except (ValueError, KeyError, TypeError):
            raise InputError("the audit trail's last record is unreadable; run `cnsec respond verify`",
                             Source(str(self.path))) from None

    @staticmethod
    def _write(fd: int, prev: str, seq: int, entry: dict[str, Any]) -> dict[str, Any]:
        record = {"schema": SCHEMA, "seq": seq, "ts": _now_iso(), "prev": prev, **entry}
        record["hash"] = record_hash(record)
        os.write(fd, canonical(record) + b"\n")
        return record

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Chain ``entry`` to the current head, write it durably, and return the full record."""
        batch = self._batch
        if batch is not None:
            record = self._write(batch.fd, batch.prev, batch.seq, entry)
            batch.prev, batch.seq = record["hash"], batch.seq + 1
            return record
        with self._locked() as fd:
            prev, seq = self._head(fd)
            record = self._write(fd, prev, seq, entry)
            os.fsync(fd)
            return record

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lock and fsync once at the end: for dry runs, whose records are plans, not acts
        (an ``--apply`` run appends and fsyncs each decision before taking the next)."""
        with self._locked() as fd:
            self._batch = _Batch(fd, *self._head(fd))
            try:
                yield
            finally:
                self._batch = None
                os.fsync(fd)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record (unreadable lines are skipped here; :func:`verify` reports them)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            for raw in handle:
                if raw.strip():
                    with contextlib.suppress(ValueError):
                        value = json.loads(raw)
                        if isinstance(value, dict):
                            yield value


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    records: int
    head: str
    line: int | None = None
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "head": self.head, "line": self.line,
                "problem": self.problem}


def verify(path: str | os.PathLike[str], expect_head: str | None = None,
           visit: Callable[[dict[str, Any]], None] | None = None) -> Verification:
    """Walk the chain from the start; stop at the first record that does not fit. ``visit`` sees each
    record that fits, so a caller that needs the records too reads the trail once, not twice."""
    target = Path(path)
    if not target.exists():
        raise InputError("audit trail not found", Source(str(target)))
    prev = GENESIS
    count = 0
    expected_seq = 1
    with target.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                return Verification(False, count, prev, number, "empty line inside the trail")
            try:
                record = json.loads(raw)
            except ValueError:
                return Verification(False, count, prev, number, "not valid JSON")
            if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
                return Verification(False, count, prev, number, "not an audit record (no hash)")
            if record.get("prev") != prev:
                return Verification(False, count, prev, number,
                                    "prev does not match the previous record's hash "
                                    "(a record was removed, inserted or reordered before it)")
            if record.get("seq") != expected_seq:
                return Verification(False, count, prev, number,
                                    f"seq is {record.get('seq')!r}, expected {expected_seq}")
            if record_hash(record) != record["hash"]:
                return Verification(False, count, prev, number, "content does not match its hash (edited)")
            if raw.rstrip(b"\n") != canonical(record):  # same values, other bytes: still an edit
                return Verification(False, count, prev, number, "not in canonical form (edited)")
            if visit is not None:
                visit(record)
            prev = record["hash"]
            count += 1
            expected_seq += 1
    if expect_head is not None and expect_head != prev:
        return Verification(False, count, prev, None,
                            "head hash differs from the expected one (records missing at the end?)")
    return Verification(True, count, prev)
