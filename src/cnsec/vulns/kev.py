"""Known exploitation: a CISA KEV catalog snapshot (``--kev``) and a FIRST EPSS snapshot (``--epss``).

Both are files the user brings (downloaded by their own job, or mirrored): cnsec never fetches them, so a
scan is reproducible and works air-gapped. KEV is the JSON catalog CISA publishes
(``known_exploited_vulnerabilities.json``: ``catalogVersion``, ``dateReleased``, ``vulnerabilities`` of
``cveID``/``dateAdded``/``dueDate``/``knownRansomwareCampaignUse``…); EPSS is FIRST's daily CSV
(``epss_scores-YYYY-MM-DD.csv[.gz]``: an optional ``#model_version:…,score_date:…`` line, then
``cve,epss,percentile``). A finding is matched through its advisory id and every alias, so a GHSA or a
DSA that names the CVE carries its KEV entry and EPSS score.

Only the rows of CVEs the findings name are kept: the EPSS file has ~300,000 rows and is read as a
stream, its decompressed size capped (a gzip bomb is refused, not inflated).
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cnsec.errors import InputError
from cnsec.model.finding import Finding, InputProblem
from cnsec.model.source import Source

MAX_KEV_BYTES = 64 << 20  # the catalog is ~1.6 MB (1,500 entries): 40 times that is not a catalog
MAX_EPSS_BYTES = 256 << 20  # decompressed; the real file is ~12 MB
_CVE = re.compile(r"CVE-\d{4}-\d{4,}\Z")


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve: str
    date_added: str | None
    due_date: str | None
    ransomware: str | None
    name: str | None

    def to_dict(self, catalog: str | None) -> dict[str, Any]:
        return {"cve": self.cve, "date_added": self.date_added, "due_date": self.due_date,
                "known_ransomware_campaign_use": self.ransomware, "name": self.name, "catalog_version": catalog}


@dataclass(slots=True)
class Exploitation:
    """What the snapshots say about the CVEs asked for."""

    kev: dict[str, KevEntry] = field(default_factory=dict)
    kev_version: str | None = None
    epss: dict[str, tuple[float, float]] = field(default_factory=dict)  # cve -> (score, percentile)
    epss_date: str | None = None
    epss_model: str | None = None

    def stats(self) -> dict[str, Any]:
        return {"kev_catalog": self.kev_version, "epss_score_date": self.epss_date,
                "epss_model": self.epss_model}


def cves_of(f: Finding) -> list[str]:
    """The CVE ids a vulnerability finding names: its advisory and its aliases."""
    ids = [str(f.attrs.get("advisory") or f.check_id), *map(str, f.attrs.get("aliases") or ())]
    return sorted({i for i in ids if _CVE.match(i)})


def read_json(path: Path, limit: int) -> Any:
    """A JSON document of at most ``limit`` bytes (KEV, VEX); InputError with the line when it is not."""
    import json

    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", Source(str(path))) from None
    if len(data) > limit:
        raise InputError(f"larger than {limit >> 20} MiB; refused", Source(str(path)))
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", Source(str(path), exc.lineno)) from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON: {exc}", Source(str(path))) from None


def load_kev(path: Path, into: Exploitation) -> None:
    """Read a KEV catalog; raises InputError (with the line) when it is not one."""
    doc = read_json(path, MAX_KEV_BYTES)
    items = doc.get("vulnerabilities") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputError('not a CISA KEV catalog (no "vulnerabilities" list)', Source(str(path)))
    version = doc.get("catalogVersion")
    into.kev_version = str(version) if version is not None else None

    def s(v: Any) -> str | None:
        return v if isinstance(v, str) else None

    for item in items:
        cve = item.get("cveID") if isinstance(item, dict) else None
        if isinstance(cve, str) and _CVE.match(cve.strip()):
            cve = cve.strip()
            into.kev[cve] = KevEntry(cve, s(item.get("dateAdded")), s(item.get("dueDate")),
                                     s(item.get("knownRansomwareCampaignUse")), s(item.get("vulnerabilityName")))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of an EPSS file, gzip or plain, read up to :data:`MAX_EPSS_BYTES`."""
    read = 0
    try:
        with path.open("rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw  # type: ignore[assignment]
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            for n, line in enumerate(text, 1):
                read += len(line)
                if read > MAX_EPSS_BYTES:
                    raise InputError(f"more than {MAX_EPSS_BYTES >> 20} MiB of text; refused (a decompression "
                                     "bomb is not an EPSS snapshot)", Source(str(path), n))
                yield n, line.rstrip("\r\n")
    except OSError as exc:  # gzip.BadGzipFile, a truncated stream (EOFError is not an OSError)
        raise InputError(f"cannot read: {exc}", Source(str(path))) from None
    except EOFError:
        raise InputError("truncated gzip stream", Source(str(path))) from None


def load_epss(path: Path, wanted: Iterable[str], into: Exploitation, problems: list[InputProblem]) -> None:
    """Keep the EPSS rows of ``wanted`` CVEs; a row that does not read is a problem with its line (the
    others are still read); a file without the ``cve,epss,percentile`` header is an InputError."""
    want = set(wanted)
    header_seen = False
    for n, line in _lines(path):
        if not line.strip():
            continue
        if line.startswith("#"):  # #model_version:v2025.03.14,score_date:2025-08-15T00:00:00+0000
            for part in line[1:].split(","):
                key, _, value = part.partition(":")
                if key.strip() == "model_version":
                    into.epss_model = value.strip()
                elif key.strip() == "score_date":
                    into.epss_date = value.strip()
            continue
        if not header_seen:
            if [c.strip().lower() for c in line.split(",")[:3]] != ["cve", "epss", "percentile"]:
                raise InputError("not a FIRST EPSS snapshot (expected the header 'cve,epss,percentile')",
                                 Source(str(path), n))
            header_seen = True
            continue
        cve, _, rest = line.partition(",")
        if cve not in want:
            continue
        score_text, _, pct_text = rest.partition(",")
        try:
            score, pct = float(score_text), float(pct_text)
        except ValueError:
            problems.append(InputProblem(str(path), n, f"{cve}: not an EPSS score and percentile; row skipped"))
            continue
        if not (0.0 <= score <= 1.0 and 0.0 <= pct <= 1.0):
            problems.append(InputProblem(str(path), n, f"{cve}: EPSS values outside 0..1; row skipped"))
            continue
        into.epss[cve] = (score, pct)
    if not header_seen:
        raise InputError("not a FIRST EPSS snapshot (no 'cve,epss,percentile' header)", Source(str(path)))


def annotate(findings: Iterable[Finding], signals: Exploitation) -> int:
    """Put the KEV entry and the highest EPSS score of each finding's CVEs on it (``kev``, ``epss``
    attributes and its message); returns how many findings are known exploited."""
    known = 0
    for f in findings:
        cves = cves_of(f)
        entry = next((signals.kev[c] for c in cves if c in signals.kev), None)
        notes = []
        if entry is not None:
            known += 1
            f.attrs["kev"] = entry.to_dict(signals.kev_version)
            notes.append(f"known exploited (CISA KEV {entry.cve}, added {entry.date_added or '?'})")
        scored = [(signals.epss[c], c) for c in cves if c in signals.epss]
        if scored:
            (score, pct), cve = max(scored)
            f.attrs["epss"] = {"cve": cve, "score": score, "percentile": pct, "score_date": signals.epss_date}
            notes.append(f"EPSS {score:.3f} ({cve}, percentile {pct:.3f})")
        if notes:
            f.message += "; " + "; ".join(notes)
    return known


def load(kev: str | None, epss: str | None, findings: list[Finding],
         problems: list[InputProblem]) -> Exploitation | None:
    """Both snapshots as the CLI gives them; an unreadable one is a problem (exit 2), never fatal."""
    from cnsec.errors import CnsecError

    if not kev and not epss:
        return None
    signals = Exploitation()
    for path, reader in ((kev, "kev"), (epss, "epss")):
        if not path:
            continue
        try:
            if reader == "kev":
                load_kev(Path(path), signals)
            else:
                load_epss(Path(path), {c for f in findings for c in cves_of(f)}, signals, problems)
        except CnsecError as exc:
            src = exc.source or Source(path)
            problems.append(InputProblem(src.file, src.line, exc.message))
    return signals
