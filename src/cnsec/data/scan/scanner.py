"""Orchestration: configuration, parallel scanning over files, and the ``Report`` of findings.

Files are scanned by a process pool (one engine per worker, built once); results come back in input
order, so the output is deterministic whatever the number of cores.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnsec.data.scan.engine import DEFAULT_SALT, AllowRule, Engine, EngineOptions, SecretHit
from cnsec.data.scan.walker import DEFAULT_MAX_FILE_SIZE, DiffUnit, read_chunks
from cnsec.errors import ConfigError
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report, RuleInfo
from cnsec.model.source import Source

#: Below this many bytes a pool costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class ScanConfig:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    excludes: tuple[str, ...] = ()
    allow: tuple[AllowRule, ...] = ()
    salt: bytes | None = None
    disabled: frozenset[str] = frozenset()
    include_tests: bool = False
    respect_gitignore: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def parse_size(value: object, source: Source) -> int:
    if isinstance(value, int) and value > 0:
        return value
    text = str(value).strip().upper().removesuffix("B")
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ConfigError(f"not a size: {value!r} (use bytes or e.g. 10MB)", source) from None


def load_config(path: Path | None, base: ScanConfig | None = None) -> ScanConfig:
    """The ``scan:`` section of ``.cnsec.yaml``. Every allowlist entry must give a reason."""
    cfg = base or ScanConfig()
    if path is None or not path.is_file():
        return cfg
    from cnsec.config_file import read_document

    src = Source(str(path))
    docs = [read_document(str(path))]
    data = docs[0] or {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at the top level", src)
    section = data.get("scan") or {}
    if not isinstance(section, dict):
        raise ConfigError("'scan' must be a mapping", src)
    if "max_file_size" in section:
        cfg.max_file_size = parse_size(section["max_file_size"], src)
    cfg.excludes = (*cfg.excludes, *(str(x) for x in section.get("exclude") or ()))
    rules = list(cfg.allow)
    for i, entry in enumerate(section.get("allowlist") or ()):
        if not isinstance(entry, dict) or not str(entry.get("reason", "")).strip():
            raise ConfigError(f"scan.allowlist[{i}]: every entry needs a 'reason'", src)
        if not entry.get("path") and not entry.get("value"):
            raise ConfigError(f"scan.allowlist[{i}]: give a 'path' or a 'value' glob", src)
        rules.append(AllowRule(reason=str(entry["reason"]).strip(), path=entry.get("path"),
                               value=entry.get("value"), detector=entry.get("detector")))
    cfg.allow = tuple(rules)
    if section.get("salt"):
        cfg.salt = str(section["salt"]).encode()
    cfg.disabled = cfg.disabled | frozenset(str(x) for x in section.get("disable") or ())
    if "include_tests" in section:
        cfg.include_tests = bool(section["include_tests"])
    return cfg


def default_salt(root: Path) -> bytes:
    """Per-repository salt: env ``CNSEC_SCAN_SALT``, else the repository's root commit, else a constant.

    Stable across clones (so a committed baseline works in CI) and different between repositories
    (so one precomputed table does not fit all).
    """
    env = os.environ.get("CNSEC_SCAN_SALT")
    if env:
        return env.encode()
    directory = root if root.is_dir() else root.parent
    try:
        proc = subprocess.run(["git", "-C", str(directory), "rev-list", "--max-parents=0", "HEAD"],
                              capture_output=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_SALT
    roots = proc.stdout.decode().split()
    return DEFAULT_SALT + b":" + min(roots).encode() if proc.returncode == 0 and roots else DEFAULT_SALT


# ---- workers --------------------------------------------------------------------------------------

_ENGINE: Engine | None = None


def _init_worker(options: EngineOptions, backend: str) -> None:
    global _ENGINE
    _ENGINE = Engine(options=options, backend=backend)


def _scan_file(job: tuple[str, str, int]) -> tuple[list[SecretHit], str | None, int]:
    rel, abspath, max_size = job
    assert _ENGINE is not None
    chunks = read_chunks(abspath, max_size)
    if isinstance(chunks, str):
        return [], chunks, 0
    hits: list[SecretHit] = []
    scanned = 0
    try:
        for first_line, data, own in chunks:
            scanned += own
            partial = own != len(data)
            own_lines = data.count(b"\n", 0, own) if partial else 0
            for h in _ENGINE.scan_bytes(data, rel):
                if partial and h.line > own_lines:
                    continue  # belongs to the next chunk, which sees it again
                if first_line != 1:
                    h = replace(h, line=h.line + first_line - 1, end_line=h.end_line + first_line - 1)
                hits.append(h)
    except OSError as exc:
        return hits, f"cannot read: {exc.strerror}", scanned
    return hits, None, scanned


def _scan_unit(unit: DiffUnit) -> list[SecretHit]:
    """Scan the added lines of a diff as one text, then map hits back to their real line numbers."""
    assert _ENGINE is not None
    text = "\n".join(t for _, t in unit.lines)
    return [replace(h, line=unit.lines[h.line - 1][0],
                    end_line=unit.lines[min(h.end_line, len(unit.lines)) - 1][0])
            for h in _ENGINE.scan_bytes(text.encode("utf-8", "surrogatepass"), unit.path)]


@dataclass(slots=True)
class ScanResult:
    hits: list[tuple[str, SecretHit, str | None]]  # (path, hit, commit)
    errors: list[InputProblem]
    stats: dict[str, Any]


def scan_files(files: Sequence[tuple[str, str]], options: EngineOptions, *, backend: str = "auto",
               jobs: int | None = None, max_size: int = DEFAULT_MAX_FILE_SIZE) -> ScanResult:
    jobs_list = [(rel, path, max_size) for rel, path in files]
    total = 0
    for _, path, _ in jobs_list:
        with contextlib.suppress(OSError):
            total += os.path.getsize(path)
    workers = jobs or os.cpu_count() or 1
    results: Iterable[tuple[list[SecretHit], str | None, int]]
    from cnsec.report.console import Progress

    with Progress("files", total=len(jobs_list), byte_total=total) as progress:
        if workers > 1 and len(jobs_list) > 1 and total >= PARALLEL_MIN_BYTES:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(options, backend))
            with pool:
                chunk = max(1, min(64, len(jobs_list) // (workers * 8)))
                results = list(_shown_done(pool.map(_scan_file, jobs_list, chunksize=chunk), progress))
        else:
            _init_worker(options, backend)
            results = list(_shown_done(map(_scan_file, jobs_list), progress))
    hits: list[tuple[str, SecretHit, str | None]] = []
    errors: list[InputProblem] = []
    stats = {"files_scanned": 0, "bytes_scanned": 0, "skipped_binary": 0, "skipped_large": 0}
    for (rel, _, _), (file_hits, problem, scanned) in zip(jobs_list, results, strict=True):
        if problem == "binary":
            stats["skipped_binary"] += 1
        elif problem == "large":
            stats["skipped_large"] += 1
        elif problem:
            errors.append(InputProblem(rel, None, problem))
        else:
            stats["files_scanned"] += 1
        stats["bytes_scanned"] += scanned
        hits.extend((rel, h, None) for h in file_hits)
    return ScanResult(hits, errors, stats)


def _shown_done(results: Iterable[tuple[list[SecretHit], str | None, int]],
                progress: Any) -> Iterator[tuple[list[SecretHit], str | None, int]]:
    """The results as they come, each counted on the progress line (files and bytes scanned)."""
    if not progress.enabled:
        yield from results
        return
    for result in results:
        progress.advance(1, result[2])
        yield result


def scan_units(units: Sequence[DiffUnit], options: EngineOptions, *, backend: str = "auto") -> ScanResult:
    _init_worker(options, backend)
    hits: list[tuple[str, SecretHit, str | None]] = []
    for unit in units:
        hits.extend((unit.path, h, unit.commit) for h in _scan_unit(unit))
    stats = {"files_scanned": len({u.path for u in units}), "commits": len({u.commit for u in units if u.commit}),
             "bytes_scanned": sum(len(t) for u in units for _, t in u.lines)}
    return ScanResult(hits, [], stats)


def _shown(root: str, path: str) -> str:
    if root in ("", "."):
        return path
    return os.path.normpath(os.path.join(root, path))


def build_report(result: ScanResult, target: str, backend: str, display_root: str = ".") -> Report:
    """Findings are identified by the path relative to the scanned root (so a baseline works however the
    root is spelled) and located at ``display_root``/path (so SARIF and editors find the file)."""
    from cnsec.data.scan.detectors import by_id

    detectors = by_id()
    # Every occurrence is a finding: removing the one line reported would leave the others. The
    # first occurrence of a secret in a file keeps the id of (detector, file, fingerprint), so
    # baselines written when only it was reported still match; the n-th adds "#n" (stable while
    # lines move; counted per commit in history, where the oldest commit's wins as before).
    counts: dict[tuple[str, str, str, str | None], int] = {}
    numbered: list[tuple[str, SecretHit, str | None, int]] = []
    for path, hit, commit in result.hits:
        group = (path, hit.detector, hit.fingerprint, commit)
        counts[group] = counts.get(group, 0) + 1
        numbered.append((path, hit, commit, counts[group]))
    findings: dict[str, Finding] = {}
    for path, hit, commit, n in numbered:
        fid = finding_id(hit.detector, path, hit.fingerprint if n == 1 else f"{hit.fingerprint}#{n}")
        det = detectors.get(hit.detector)
        attrs: dict[str, Any] = {"detector": hit.detector, "fingerprint": hit.fingerprint,
                                 "preview": hit.preview, "end_line": hit.end_line, "column": hit.column,
                                 "occurrence": n}
        if commit:
            attrs["commit"] = commit
        of = counts[(path, hit.detector, hit.fingerprint, commit)]
        title = f"{hit.title}: {hit.preview}" + (f" ({n} of {of} lines)" if of > 1 else "")
        finding = Finding(
            id=fid, check_id=hit.detector, title=title, severity=hit.severity, asset_id=path,
            source=Source(_shown(display_root, path), hit.line), message=title,
            threat_ids=("secret-access",), remediation=det.remediation if det else "",
            location=hit.key or "", suppressed=hit.suppressed is not None,
            suppression_reason=hit.suppressed, snippet=hit.preview, attrs=attrs)
        # history: the same occurrence in the same file is one finding (the oldest commit that added it)
        findings[fid] = finding
    ordered = sorted(findings.values(), key=lambda f: (f.source.file, f.source.line or 0,
                                                       int(f.attrs["column"]), f.check_id))
    rules = {}
    for f in ordered:
        det = detectors.get(f.check_id)
        if det and det.id not in rules:
            rules[det.id] = RuleInfo(id=det.id, title=det.title, severity=det.severity,
                                     description=det.description or det.title, remediation=det.remediation,
                                     threat_ids=("secret-access",), target="secrets")
    report = Report(kind="secrets", findings=ordered, errors=result.errors, rules=rules, target=target)
    report.stats.update(result.stats)
    report.stats["engine"] = backend
    return report
