"""The local vulnerability index: OSV records in, one SQLite file keyed by (ecosystem, package) out.

``cnsec vulndb build`` streams each ``all.zip`` (one member at a time, so memory stays bounded by the
largest record) and each folder of OSV JSON into a temp file beside the index, and renames it into
place only when it is complete: a scan running meanwhile reads the old index, never a half-built one.
A corrupt archive or record is reported with its file (and line), the rest is still built.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cnsec.errors import InputError
from cnsec.model.finding import InputProblem

SCHEMA = "cnsec.vulndb/1"
MAX_RECORD_BYTES = 16 << 20  # a larger "record" is a decompression bomb, not an advisory
RANGE_TYPES = ("ECOSYSTEM", "SEMVER")
_BATCH = 2000

_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE vulns (id TEXT PRIMARY KEY, summary TEXT, aliases TEXT NOT NULL, severity TEXT, score REAL,
                    vector TEXT, severity_source TEXT NOT NULL, withdrawn TEXT, modified TEXT, origin TEXT);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, vuln_id TEXT NOT NULL,
                       ranges TEXT NOT NULL, versions TEXT NOT NULL);
CREATE TABLE aliases (alias TEXT NOT NULL, vuln_id TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX affected_key ON affected (ecosystem, name);
CREATE INDEX aliases_alias ON aliases (alias);
"""


def default_path() -> Path:
    """``CNSEC_VULNDB``, else ``vulns.db`` in cnsec's data directory (beside cnsec.db)."""
    from cnsec.store.engine import data_dir

    env = os.environ.get("CNSEC_VULNDB")
    return Path(env) if env else data_dir() / "vulns.db"


_PEP503 = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """The key a package is filed under: PyPI per PEP 503, Packagist lower-case, others as written."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base in ("Packagist", "crates.io") or base == "NuGet":
        return name.lower()
    return name


@dataclass(slots=True)
class BuildResult:
    path: Path
    records: int = 0
    affected: int = 0
    duplicates: int = 0
    git_ranges_ignored: int = 0
    other_ranges_ignored: int = 0
    withdrawn: int = 0
    unscored: int = 0
    errors: list[InputProblem] = field(default_factory=list)
    per_source: dict[str, int] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {"records": self.records, "affected": self.affected, "duplicates": self.duplicates,
                "git_ranges_ignored": self.git_ranges_ignored,
                "other_ranges_ignored": self.other_ranges_ignored, "withdrawn": self.withdrawn,
                "unscored": self.unscored, "errors": len(self.errors)}


def _json_loads(data: bytes) -> Any:
    import orjson

    return orjson.loads(data)


def _records(source: Path, result: BuildResult) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of every OSV JSON record under ``source``; unreadable ones become errors."""
    paths = [source] if source.is_file() else sorted(p for p in source.rglob("*")
                                                     if p.is_file() and p.suffix in (".zip", ".json"))
    for path in paths:
        if path.suffix == ".zip":
            yield from _zip_records(path, result)
        elif path.suffix == ".json":
            try:
                if path.stat().st_size > MAX_RECORD_BYTES:
                    raise InputError("record too large")
                yield str(path), path.read_bytes()
            except OSError as exc:
                result.errors.append(InputProblem(str(path), None, f"cannot read: {exc.strerror}"))
            except InputError as exc:
                result.errors.append(InputProblem(str(path), None, exc.message))
        else:
            result.errors.append(InputProblem(str(path), None, "not a .zip archive or an OSV .json record"))


def _zip_records(path: Path, result: BuildResult) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.errors.append(InputProblem(str(path), None, f"not a readable zip archive ({exc})"))
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            where = f"{path}!{info.filename}"
            if info.file_size > MAX_RECORD_BYTES:
                result.errors.append(InputProblem(where, None, f"record of {info.file_size} bytes refused "
                                                               f"(limit {MAX_RECORD_BYTES})"))
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_RECORD_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
                result.errors.append(InputProblem(where, None, f"corrupt archive member ({exc})"))
                continue
            if len(data) > MAX_RECORD_BYTES:
                result.errors.append(InputProblem(where, None, "record larger than its header says; refused"))
                continue
            yield where, data


def _parse_record(where: str, data: bytes) -> dict[str, Any]:
    import json

    try:
        record = _json_loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", _src(where, exc.lineno)) from None
    except (ValueError, RecursionError) as exc:  # orjson: bad UTF-8, nesting too deep
        raise InputError(f"not valid JSON: {exc}", _src(where, None)) from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise InputError('not an OSV record (no "id")', _src(where, None))
    if not isinstance(record.get("affected", []), list):
        raise InputError('"affected" is not a list', _src(where, None))
    return record


def _src(where: str, line: int | None) -> Any:
    from cnsec.model.source import Source

    return Source(where, line)


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _affected_rows(record: dict[str, Any], result: BuildResult) -> list[tuple[str, str, str, str, str]]:
    import json

    rows = []
    for entry in record.get("affected") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
            continue
        eco, name = entry["package"].get("ecosystem"), entry["package"].get("name")
        if not isinstance(eco, str) or not isinstance(name, str) or not eco or not name:
            continue
        ranges = []
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, dict):
                continue
            if rng.get("type") in RANGE_TYPES and isinstance(rng.get("events"), list):
                events = [{k: v for k, v in ev.items() if k in ("introduced", "fixed", "last_affected", "limit")
                           and isinstance(v, str)} for ev in rng["events"] if isinstance(ev, dict)]
                ranges.append({"type": rng["type"], "events": [e for e in events if e]})
            elif rng.get("type") == "GIT":
                result.git_ranges_ignored += 1
            else:
                result.other_ranges_ignored += 1
        versions = _str_list(entry.get("versions"))
        if not ranges and not versions:
            continue
        rows.append((eco, normalize_name(eco, name), record["id"], json.dumps(ranges, separators=(",", ":")),
                     json.dumps(versions, separators=(",", ":"))))
    return rows


def build(sources: list[Path], db: Path) -> BuildResult:
    """Build the index at ``db`` from ``sources``; the old file stays until the new one is complete."""
    import json

    from cnsec.vulns.severity import assess

    db.parent.mkdir(parents=True, exist_ok=True)
    result = BuildResult(db)
    fd, tmp = tempfile.mkstemp(prefix=f".{db.name}.", suffix=".tmp", dir=db.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(_DDL)
            seen: set[str] = set()
            vulns: list[tuple[Any, ...]] = []
            affected: list[tuple[str, str, str, str, str]] = []
            aliases: list[tuple[str, str]] = []

            def flush() -> None:
                conn.executemany("INSERT INTO vulns VALUES (?,?,?,?,?,?,?,?,?,?)", vulns)
                conn.executemany("INSERT INTO affected VALUES (?,?,?,?,?)", affected)
                conn.executemany("INSERT INTO aliases VALUES (?,?)", aliases)
                vulns.clear()
                affected.clear()
                aliases.clear()

            for source in sources:
                before = result.records
                if not source.exists():
                    result.errors.append(InputProblem(str(source), None, "not found"))
                    continue
                for where, data in _records(source, result):
                    try:
                        record = _parse_record(where, data)
                    except InputError as exc:
                        src = exc.source
                        result.errors.append(InputProblem(src.file if src else where, src.line if src else None,
                                                          exc.message))
                        continue
                    vid = record["id"]
                    if vid in seen:
                        result.duplicates += 1
                        continue
                    seen.add(vid)
                    ids = sorted(set(_str_list(record.get("aliases")) + _str_list(record.get("upstream"))) - {vid})
                    scored = assess(record)
                    result.unscored += scored.label is None
                    withdrawn = record.get("withdrawn") if isinstance(record.get("withdrawn"), str) else None
                    result.withdrawn += withdrawn is not None
                    summary = record.get("summary") if isinstance(record.get("summary"), str) else None
                    modified = record.get("modified") if isinstance(record.get("modified"), str) else None
                    vulns.append((vid, summary, json.dumps(ids), scored.label, scored.score, scored.vector,
                                  scored.source, withdrawn, modified, where))
                    rows = _affected_rows(record, result)
                    affected.extend(rows)
                    result.affected += len(rows)
                    aliases.extend((a, vid) for a in ids)
                    result.records += 1
                    if len(vulns) >= _BATCH:
                        flush()
                result.per_source[str(source)] = result.records - before
            flush()
            conn.executescript(_INDEXES)
            meta = {"schema": SCHEMA, "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "sources": json.dumps([str(s.resolve()) for s in sources]),
                    "stats": json.dumps(result.stats())}
            conn.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
            conn.commit()
        finally:
            conn.close()
        if result.records == 0:
            raise InputError("no OSV records found; the index was not replaced",
                             _src(", ".join(str(s) for s in sources), None))
        os.chmod(tmp, 0o644)
        os.replace(tmp, db)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return result


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    summary: str | None
    aliases: tuple[str, ...]
    severity: str | None
    score: float | None
    vector: str | None
    severity_source: str
    withdrawn: str | None


class AffectedEntry(NamedTuple):
    """One advisory's entry for one package (a tuple: a scan makes one per advisory of every package
    read, 136,569 in the 4,000-component bench, where a frozen dataclass's __init__ showed)."""

    vuln_id: str
    ecosystem: str
    #: the OSV ``ranges`` as stored (JSON text): many advisories share one (136,569 entries of the 4,000
    #: component bench hold 4,399 distinct texts), so the matcher compiles and decides each text once
    ranges_json: str
    listed: bool  # the advisory's explicit ``versions`` list names the version asked about

    @property
    def ranges(self) -> list[dict[str, Any]]:
        import orjson

        ranges: list[dict[str, Any]] = orjson.loads(self.ranges_json)
        return ranges


class Index:
    """A read-only view of a built index (opened with SQLite's read-only URI: never modified by a scan)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise InputError(f"no vulnerability index at {path}: build one with "
                             f"'cnsec vulndb build DIR' (DIR holding OSV all.zip archives or OSV JSON)")
        self.path = path
        try:
            self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self.meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a cnsec vulnerability index ({exc}); rebuild it with 'cnsec vulndb build DIR'",
                             _src(str(path), None)) from None
        if self.meta.get("schema") != SCHEMA:
            raise InputError(f"index schema {self.meta.get('schema')!r} is not {SCHEMA!r}; rebuild it with "
                             "'cnsec vulndb build DIR'", _src(str(path), None))
        self._advisories: dict[str, Advisory] = {}

    def close(self) -> None:
        self.conn.close()

    def ecosystems(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.conn.execute("SELECT DISTINCT ecosystem FROM affected"))

    def built_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["built_at"])

    def affected(self, ecosystem: str, name: str, version: str) -> list[AffectedEntry]:
        """The advisories' entries for the package; whether each lists ``version`` is decided inside
        SQLite (the JSON text searched for the quoted version), so long version lists never reach Python."""
        import json


        rows = self.conn.execute("SELECT vuln_id, ecosystem, ranges, instr(versions, ?) > 0 FROM affected "
                                 "WHERE ecosystem = ? AND name = ?",
                                 (json.dumps(version), ecosystem, normalize_name(ecosystem, name))).fetchall()
        return [AffectedEntry(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def advisory(self, vuln_id: str) -> Advisory:
        import json

        adv = self._advisories.get(vuln_id)
        if adv is None:
            r = self.conn.execute("SELECT id, summary, aliases, severity, score, vector, severity_source, "
                                  "withdrawn FROM vulns WHERE id = ?", (vuln_id,)).fetchone()
            adv = Advisory(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5], r[6], r[7])
            self._advisories[vuln_id] = adv
        return adv

    def rated_names(self) -> dict[str, tuple[float, str]]:
        """Every id and alias that a rated, not withdrawn record holds -> (its best score, -1 for a bare
        label; the record's id): one pass over the index, asked once per scan, so that findings whose own
        advisories carry no severity (Go's vulndb never does) can take an alias's — GO-2024-2687's
        GHSA-4v7x-pqxf-cx7m, filed for net/http — without a query per finding."""
        out: dict[str, tuple[float, str]] = {}
        rows = self.conn.execute(
            "SELECT v.id, COALESCE(v.score, -1), a.alias FROM vulns v LEFT JOIN aliases a ON a.vuln_id = v.id "
            "WHERE v.severity IS NOT NULL AND v.withdrawn IS NULL")
        for vid, score, alias in rows:
            for name in (vid, alias):
                if name is not None and (name not in out or (-score, vid) < (-out[name][0], out[name][1])):
                    out[name] = (score, vid)
        return out
