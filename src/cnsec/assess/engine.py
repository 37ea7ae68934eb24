"""The assessment pipeline: inventory → assets → checks → findings → risks → plan → report."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cnsec.assess.assets import build_assets
from cnsec.assess.checks.base import Check, Hit, registry
from cnsec.assess.config import Config
from cnsec.assess.inventory import Inventory, load_inventory
from cnsec.assess.suppress import (
    ANNOTATION,
    Waiver,
    apply_config,
    apply_waivers,
    comment_waivers,
    parse_annotation,
)
from cnsec.model.asset import Asset
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report
from cnsec.model.source import Source
from cnsec.model.threat import threat_catalog

SNIPPET_CONTEXT = 2


@dataclass(slots=True)
class Context:
    """What a check can see besides its own item."""

    inventory: Inventory
    config: Config
    assets: dict[str, Asset]


def _location(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _mask(text: str) -> str:
    """Keep the key, hide the value: ``password: hunter2`` → ``password: ********``."""
    for sep in (": ", "=", ":"):
        key, found, rest = text.partition(sep)
        if found:
            pad = rest[: len(rest) - len(rest.lstrip())]
            return f"{key}{sep}{pad}********"
    return "********"


def _snippet(lines: list[str], line: int | None, masked: frozenset[int] = frozenset(),
             values: frozenset[str] = frozenset()) -> str | None:
    """Lines around ``line``; lines in ``masked`` (secrets), lines holding a known secret value and
    lines the secret scanner flags are masked."""
    if not lines or not line:
        return None
    from cnsec.data.scan import scan_text

    lo = max(line - 1 - SNIPPET_CONTEXT, 0)
    hi = min(line + SNIPPET_CONTEXT, len(lines))
    window = lines[lo:hi]
    flagged = {lo + h.line - 1 for h in scan_text("\n".join(window))}
    width = len(str(hi))
    out = []
    for n in range(lo, hi):
        secret = (n + 1) in masked or n in flagged or any(v in lines[n] for v in values)
        text = _mask(lines[n]) if secret else lines[n]
        out.append(f"{n + 1:>{width}} {'>' if n + 1 == line else ' '} {text}")
    return "\n".join(out)


MIN_SECRET_VALUE = 6


def _value_of(line: str) -> str | None:
    """The value part of ``key: value`` / ``KEY=value`` (what :func:`_mask` hides), if long enough."""
    for sep in (": ", "=", ":"):
        _, found, value = line.partition(sep)
        if found:
            value = value.strip().strip("'\"").strip()
            return value if len(value) >= MIN_SECRET_VALUE else None
    return None


def _secret_lines(findings: list[Finding]) -> dict[str, set[int]]:
    """Per file, the lines that a sensitive check (a credential) points at."""
    checks = registry()
    out: dict[str, set[int]] = {}
    for f in findings:
        c = checks.get(f.check_id)
        if c is not None and c.sensitive and f.source.line:
            out.setdefault(f.source.file, set()).add(f.source.line)
    return out


def _secret_values(inv: Inventory, secret_lines: dict[str, set[int]]) -> frozenset[str]:
    """The secret values on those lines: the same value elsewhere (a ``--password`` argument, an
    ``echo`` in a RUN line, a fix that copies the resource) is masked too."""
    values = set()
    for file, numbers in secret_lines.items():
        lines = inv.lines(file)
        for n in numbers:
            value = _value_of(lines[n - 1]) if 0 < n <= len(lines) else None
            if value:
                values.add(value)
    return frozenset(values)


def _redact(text: str, values: frozenset[str]) -> str:
    from cnsec.data.scan import scan_text

    lines = text.split("\n")
    flagged = {h.line - 1 for h in scan_text(text)}
    return "\n".join(_mask(line) if n in flagged or any(v in line for v in values) else line
                     for n, line in enumerate(lines))


def _redact_fixes(findings: list[Finding], values: frozenset[str]) -> None:
    """Fixes that copy a resource (a naked pod wrapped in a Deployment) must not copy its secrets."""
    for f in findings:
        if f.fix and "\n" in f.fix.strip():
            f.fix = _redact(f.fix, values)


def _add_snippets(findings: list[Finding], inv: Inventory, limit: int = 2000,
                  secret_lines: dict[str, set[int]] | None = None,
                  values: frozenset[str] = frozenset()) -> None:
    """Source snippets for the findings people read first (the worst ones), not for all of them.

    A line that a sensitive check (a credential) points at is masked in every snippet that shows it.
    """
    if secret_lines is None:
        secret_lines = _secret_lines(findings)
    ranked = sorted(findings, key=lambda f: -f.severity)[:limit]
    for f in ranked:
        masked = frozenset(secret_lines.get(f.source.file, ()))
        f.snippet = _snippet(inv.lines(f.source.file), f.source.line, masked, values)


class _Runner:
    def __init__(self, inv: Inventory, config: Config, assets: list[Asset]) -> None:
        self.inv = inv
        self.ctx = Context(inv, config, {a.id: a for a in assets})
        self.findings: list[Finding] = []
        self.problems: list[InputProblem] = []
        self.seen_ids: set[str] = set()

    def emit(self, chk: Check, hits: Iterable[Hit], item: Any, file: str, default_line: int) -> None:
        for hit in hits:
            target = hit.resource if hit.resource is not None else getattr(item, "res", item)
            asset_id = getattr(target, "key", "") or file
            tfile = getattr(target, "file", file)
            if hit.line is not None:
                line = hit.line
            elif hit.path and hasattr(target, "line_at"):
                line = target.line_at(*hit.path)
            else:
                line = getattr(target, "line", default_line) if hit.resource is not None else default_line
            location = hit.location if hit.location is not None else (_location(hit.path) or hit.message)
            fid = finding_id(chk.id, asset_id, location)
            if fid in self.seen_ids:
                continue
            self.seen_ids.add(fid)
            self.findings.append(Finding(
                id=fid, check_id=chk.id, title=chk.title, severity=chk.severity, asset_id=asset_id,
                source=Source(tfile, line), message=hit.message, threat_ids=chk.threats,
                remediation=chk.remediation, equivalents=chk.equivalents, control_id=chk.control,
                location=location, patch=hit.patch, fix=hit.fix,
            ))

    def run(self, chk: Check, item: Any, file: str, line: int, what: str) -> None:
        try:
            hits = list(chk.run(item, self.ctx))
        except Exception as exc:  # a broken check on one resource never ends the run
            self.problems.append(InputProblem(
                file, line, f"check {chk.id} failed on {what}: {type(exc).__name__}: {exc}"))
            return
        if hits:
            self.emit(chk, hits, item, file, line)


def select_checks(config: Config, only: set[str] | None = None, skip: set[str] | None = None) -> list[Check]:
    import fnmatch

    only = (only or set()) | config.only_checks
    skip = (skip or set()) | config.skip_checks
    unknown = sorted(p for p in only if not any(fnmatch.fnmatchcase(c, p) for c in registry()))
    if unknown:
        from cnsec.errors import UsageError

        # a typo here would otherwise run no check at all and pass every gate
        raise UsageError(f"no check matches {', '.join(unknown)} (see 'cnsec checks list')")
    out = []
    for c in registry().values():
        if only and not any(fnmatch.fnmatchcase(c.id, p) for p in only):
            continue
        if any(fnmatch.fnmatchcase(c.id, p) for p in skip):
            continue
        out.append(c)
    return out


PARALLEL_MIN_ITEMS = 400
_FORK_STATE: tuple[Inventory, Config, list[Asset], list[Check]] | None = None


def _run_slice(inv: Inventory, config: Config, assets: list[Asset], checks: list[Check], part: int,
               parts: int) -> tuple[list[Finding], list[InputProblem]]:
    """Run every check on every ``parts``-th item starting at ``part`` (inventory checks: part 0)."""
    runner = _Runner(inv, config, assets)
    by_target: dict[str, list[Check]] = {}
    for c in checks:
        by_target.setdefault(c.target, []).append(c)
    k8s_checks = by_target.get("k8s", [])
    for res in inv.k8s[part::parts]:
        for c in k8s_checks:
            if c.kinds is None or res.kind in c.kinds:
                runner.run(c, res, res.file, res.line, res.key)
    wl_checks = by_target.get("workload", [])
    if wl_checks:
        for w in inv.workloads[part::parts]:
            for c in wl_checks:
                if c.kinds is None or w.kind in c.kinds:
                    runner.run(c, w, w.res.file, w.res.line, w.res.key)
    for df in inv.dockerfiles[part::parts]:
        for c in by_target.get("dockerfile", []):
            runner.run(c, df, df.file, 1, df.key)
    tf_checks = by_target.get("terraform", [])
    for r in inv.terraform[part::parts]:
        for c in tf_checks:
            if c.resource_types is None or r.type in c.resource_types:
                runner.run(c, r, r.file, r.line, r.key)
    if part == 0:
        for c in by_target.get("inventory", []):
            runner.run(c, inv, inv.root, 0, "the inventory")
    return runner.findings, runner.problems


def _forked_slice(args: tuple[int, int]) -> tuple[list[Finding], list[InputProblem]]:
    assert _FORK_STATE is not None
    inv, config, assets, checks = _FORK_STATE
    return _run_slice(inv, config, assets, checks, *args)


def run_checks(inv: Inventory, config: Config, assets: list[Asset], checks: list[Check],
               *, workers: int | None = None) -> tuple[list[Finding], list[InputProblem]]:
    """Run the checks; on a large inventory, in forked processes that share it copy-on-write.

    The result does not depend on the number of processes: findings are de-duplicated by id and
    the caller sorts them.
    """
    global _FORK_STATE
    import os

    n = workers if workers is not None else (os.cpu_count() or 1)
    items = len(inv.k8s) + len(inv.dockerfiles) + len(inv.terraform)
    if n <= 1 or items < PARALLEL_MIN_ITEMS:
        return _run_slice(inv, config, assets, checks, 0, 1)
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():  # pragma: no cover - not Linux
        return _run_slice(inv, config, assets, checks, 0, 1)
    _ = inv.workloads  # build once, before the fork
    _FORK_STATE = (inv, config, assets, checks)
    try:
        with mp.get_context("fork").Pool(n) as pool:
            parts = pool.map(_forked_slice, [(i, n) for i in range(n)])
    finally:
        _FORK_STATE = None
    findings: list[Finding] = []
    problems: list[InputProblem] = []
    seen: set[str] = set()
    for part_findings, part_problems in parts:
        for f in part_findings:
            if f.id not in seen:
                seen.add(f.id)
                findings.append(f)
        problems.extend(part_problems)
    problems.sort(key=lambda p: (p.file, p.line or 0, p.message))
    return findings, problems


def _waivers_for(inv: Inventory, problems: list[InputProblem]) -> dict[str, list[Waiver]]:
    """Per asset: waivers from its annotation and from comments inside its lines."""
    out: dict[str, list[Waiver]] = {}
    for res in inv.k8s:
        ws: list[Waiver] = []
        ann = res.annotations.get(ANNOTATION)
        if isinstance(ann, str):
            ws += parse_annotation(ann, f"annotation on {res.key}", problems, res.file, res.line)
        elif ann is not None:
            problems.append(InputProblem(res.file, res.line, f"{ANNOTATION} on {res.key} must be a string "
                                                             f"('ID=reason; ID=reason'); it is not applied"))
        lines = inv.lines(res.file)
        ws += comment_waivers(lines, res.line, res.end_line, res.file, problems)
        if ws:
            out[res.key] = ws
    for df in inv.dockerfiles:
        ws = comment_waivers(df.lines, 1, len(df.lines), df.file, problems)
        if ws:
            out[df.key] = ws
    for r in inv.terraform:
        ws = comment_waivers(inv.lines(r.file), r.line, r.end_line, r.file, problems)
        if ws:
            out[r.key] = ws
    return out


def assess_inventory(inv: Inventory, config: Config, *, only: set[str] | None = None,
                     skip: set[str] | None = None) -> Report:
    started = time.perf_counter()
    assets = build_assets(inv, config)
    checks = select_checks(config, only, skip)
    findings, check_problems = run_checks(inv, config, assets, checks)
    problems = list(inv.problems) + check_problems
    waivers = _waivers_for(inv, problems)
    if waivers:
        for f in findings:
            ws = waivers.get(f.asset_id)
            if ws:
                apply_waivers([f], ws)
    apply_config(findings, config, problems)
    secret_lines = _secret_lines(findings)
    secret_values = _secret_values(inv, secret_lines)
    _redact_fixes(findings, secret_values)
    from cnsec.assess.plan import build_plan
    from cnsec.assess.risk import score_risks

    asset_map = {a.id: a for a in assets}
    risks = score_risks(findings, asset_map)
    plan = build_plan(findings, risks, asset_map, inv)
    catalog = threat_catalog()
    used = {r.threat_id for r in risks} | {t for f in findings for t in f.threat_ids}
    findings.sort(key=lambda f: (f.source.file, f.source.line or 0, f.check_id, f.id))
    _add_snippets(findings, inv, secret_lines=secret_lines, values=secret_values)
    report = Report(
        kind="assessment", findings=findings, assets=assets,
        threats=[catalog[t] for t in sorted(used) if t in catalog], risks=risks, plan=plan,
        errors=problems, rules={c.id: c.info for c in checks}, target=inv.root,
    )
    report.stats.update({
        "files": inv.files_read,
        "resources": len(inv.k8s) + len(inv.dockerfiles) + len(inv.terraform),
        "checks": len(checks),
        "templates_skipped": inv.templates_skipped,
        "seconds": round(time.perf_counter() - started, 3),
    })
    return report


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """No cyclic garbage collection during a batch run.

    An assessment allocates millions of small objects and frees almost none until it ends; the
    collector's full passes over them grew the run time faster than the input (2.4x on this corpus,
    superlinear at 16x). Parsed documents hold no reference cycles, so nothing is lost; the collector
    is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def assess(targets: list[str], config: Config, *, only: set[str] | None = None,
           skip: set[str] | None = None) -> Report:
    started = time.perf_counter()
    with batch_gc():
        inv = load_inventory(targets)
        report = assess_inventory(inv, config, only=only, skip=skip)
    report.stats["seconds"] = round(time.perf_counter() - started, 3)
    return report
