"""The assessment pipeline: inventory → assets → checks → findings → risks → plan → report."""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnsec.assess.assets import build_assets
from cnsec.assess.checks.base import Check, Hit, registry
from cnsec.assess.config import Config
from cnsec.assess.inventory import Inventory, scan_inventory
from cnsec.assess.suppress import (
    ANNOTATION,
    PEER_MARK,
    WAIVER_MARK,
    PeerMap,
    Waiver,
    apply_config,
    apply_waivers,
    checkov_annotation_waivers,
    comment_waivers,
    parse_annotation,
)
from cnsec.k8s.from_terraform import Unknowns, hcl_fix
from cnsec.k8s.workload import checking
from cnsec.model.asset import Asset
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report
from cnsec.model.source import Source
from cnsec.model.threat import threat_catalog

if TYPE_CHECKING:
    from cnsec.k8s.render.helm import HelmOptions

SNIPPET_CONTEXT = 2
#: adds assets, findings and problems to an assessment from outside its inventory (see ``assess_inventory``)
Extend = Callable[[Inventory, list[Asset], list[Finding], list[InputProblem]], None]


@dataclass(slots=True)
class Context:
    """What a check can see besides its own item."""

    inventory: Inventory
    config: Config
    assets: dict[str, Asset]


_LOCATIONS: dict[tuple[tuple[str | int, ...], tuple[type, ...]], str] = {}


def _location(path: tuple[str | int, ...]) -> str:
    """``spec.containers[0].image`` for a path; the same few thousand paths recur in every manifest.
    Remembered with each step's type (``1`` and ``True`` are equal keys but print differently)."""
    key = (path, tuple(map(type, path)))
    out = _LOCATIONS.get(key)
    if out is None:
        out = ""
        for p in path:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
        if len(_LOCATIONS) < 8192:
            _LOCATIONS[key] = out
    return out


def _mask(text: str) -> str:
    """Keep the key, hide the value: ``password: hunter2`` → ``password: ********``."""
    for sep in (": ", "=", ":"):
        key, found, rest = text.partition(sep)
        if found:
            pad = rest[: len(rest) - len(rest.lstrip())]
            return f"{key}{sep}{pad}********"
    return "********"


class SecretValues:
    """The secret values found in the input: is one of them on a line? One RE2 pass per line over an
    alternation of escaped literals, not one substring test per value.

    RE2, not ``re``: Python's engine tries every alternative at every position, so a line costs time
    in proportion to the number of values, and the number of values grows with the input (a 4 MB
    file of 2,500 Secrets spent 2.8 s here); RE2's automaton reads each line once.
    """

    __slots__ = ("_search",)

    def __init__(self, values: Iterable[str] = ()) -> None:
        import re2

        ordered = sorted(set(values))
        self._search: Callable[[str], object] | None = None
        if ordered:
            pattern = "|".join(map(re.escape, ordered))
            options = re2.Options()
            options.max_mem = 256 << 20
            try:
                self._search = re2.compile(pattern, options).search
            except re2.error:  # pragma: no cover - beyond RE2's memory: the slower engine still answers
                self._search = re.compile(pattern).search

    def in_line(self, line: str) -> bool:
        return self._search is not None and self._search(line) is not None


_NO_VALUES = SecretValues()

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
KEY_MARK = "PRIVATE KEY"


def private_key_lines(lines: list[str]) -> dict[int, int]:
    """The lines (0-based) of every private key block, each with the column its key text starts at
    (the ``-----BEGIN`` marker on the first line, the indentation on the others), through the
    ``-----END`` line (or the end of the text, when there is none).

    A snippet around another finding can start in the middle of a key: the secret scanner, which
    sees only the snippet's lines, does not recognise its last body lines as part of a key, and a
    ``key=value`` mask would show a base64 line up to its ``=`` padding. Every line of the block is
    hidden instead.
    """
    out: dict[int, int] = {}
    inside = False
    for n, text in enumerate(lines):
        begin = _KEY_BEGIN.search(text) if KEY_MARK in text else None
        if begin is not None:
            out[n] = begin.start()
            inside = _KEY_END.search(text, begin.end()) is None
        elif inside:
            out[n] = len(text) - len(text.lstrip())
            inside = not (KEY_MARK in text and _KEY_END.search(text))
    return out


def _hide_key(text: str, start: int) -> str:
    return f"{text[:start]}********"


def _snippet(lines: list[str], line: int | None, masked: frozenset[int] = frozenset(),
             values: SecretValues = _NO_VALUES, keys: dict[int, int] | None = None) -> str | None:
    """Lines around ``line``; lines in ``masked`` (secrets), lines holding a known secret value and
    lines the secret scanner flags are masked; lines of a private key block (``keys``, from
    :func:`private_key_lines`) are hidden whole."""
    if not lines or not line:
        return None
    from cnsec.data import scan_text

    lo = max(line - 1 - SNIPPET_CONTEXT, 0)
    hi = min(line + SNIPPET_CONTEXT, len(lines))
    window = lines[lo:hi]
    flagged = {lo + h.line - 1 for h in scan_text("\n".join(window))}
    keys = keys or {}
    width = len(str(hi))
    out = []
    for n in range(lo, hi):
        if n in keys:
            text = _hide_key(lines[n], keys[n])
        elif (n + 1) in masked or n in flagged or values.in_line(lines[n]):
            text = _mask(lines[n])
        else:
            text = lines[n]
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


def _secret_values(inv: Inventory, secret_lines: dict[str, set[int]]) -> SecretValues:
    """The secret values on those lines: the same value elsewhere (a ``--password`` argument, an
    ``echo`` in a RUN line, a fix that copies the resource) is masked too."""
    values = set()
    for file, numbers in secret_lines.items():
        lines = inv.lines(file)
        for n in numbers:
            value = _value_of(lines[n - 1]) if 0 < n <= len(lines) else None
            if value:
                values.add(value)
    return SecretValues(values)


def _redact(text: str, values: SecretValues) -> str:
    from cnsec.data import scan_text

    lines = text.split("\n")
    flagged = {h.line - 1 for h in scan_text(text)}
    keys = private_key_lines(lines) if KEY_MARK in text else {}
    return "\n".join(_hide_key(line, keys[n]) if n in keys
                     else _mask(line) if n in flagged or values.in_line(line) else line
                     for n, line in enumerate(lines))


def _redact_fixes(findings: list[Finding], values: SecretValues) -> None:
    """Fixes that copy a resource (a naked pod wrapped in a Deployment) must not copy its secrets."""
    for f in findings:
        if f.fix and "\n" in f.fix.strip():
            f.fix = _redact(f.fix, values)


def _add_snippets(findings: list[Finding], inv: Inventory, limit: int = 2000,
                  secret_lines: dict[str, set[int]] | None = None,
                  values: SecretValues = _NO_VALUES) -> None:
    """Source snippets for the findings people read first (the worst ones), not for all of them.

    A line that a sensitive check (a credential) points at is masked in every snippet that shows it.
    """
    if secret_lines is None:
        secret_lines = _secret_lines(findings)
    ranked = sorted(findings, key=lambda f: -f.severity)[:limit]
    keys: dict[str, dict[int, int]] = {}
    for f in ranked:
        file = f.source.file
        masked = frozenset(secret_lines.get(file, ()))
        lines = inv.lines(file)
        if file not in keys:
            keys[file] = private_key_lines(lines) if inv.mentions(file, KEY_MARK) else {}
        f.snippet = _snippet(lines, f.source.line, masked, values, keys[file])


#: A hit as a check reported it: (check id, the resource it is about, the checked item's file, file,
#: line, message, location, patch, fix, the asset id it was given, its finding id). Beside the parser
#: asset ids are provisional (two same-named resources are only told apart once the whole inventory
#: is known), so the final id is recomputed where it differs. Rows stay plain tuples because they
#: cross process boundaries, where dataclasses cost several times more to pickle.
Row = tuple[str, Any, str, str, int, str, str, Any, Any, str, str]


class NeedsInventory(BaseException):
    """A check asked for more than its own resource while running beside the parser.

    A signal, not an error: a ``BaseException`` so that a check's own ``except Exception`` cannot
    swallow it and leave a half-checked resource behind."""


class _FileLines:
    """What a check sees of the inventory beside the parser: the text of the files of its part.

    Anything else (other resources, indexes over them) raises :class:`NeedsInventory`, and the check
    runs again on the whole inventory: a check never silently sees a part instead of the whole.
    """

    __slots__ = ("_part",)

    def __init__(self, part: Inventory) -> None:
        self._part = part

    def lines(self, file: str) -> list[str]:
        return self._part.lines(file)

    def __getattr__(self, name: str) -> Any:
        raise NeedsInventory(name)


class _PartContext:
    """:class:`Context` for checks running beside the parser: no assets and no other resources."""

    __slots__ = ("config", "inventory")

    def __init__(self, part: Inventory, config: Config) -> None:
        self.inventory = _FileLines(part)
        self.config = config

    @property
    def assets(self) -> dict[str, Asset]:
        raise NeedsInventory("assets")


class _Runner:
    def __init__(self, ctx: Context | _PartContext) -> None:
        self.ctx = ctx
        self.rows: list[Row] = []
        self.problems: list[InputProblem] = []
        self.deferred: list[tuple[str, Any, str, int]] = []
        self.seen: set[tuple[str, int, str]] = set()

    def emit(self, chk: Check, hits: Iterable[Hit], item: Any, file: str, default_line: int) -> None:
        for hit in hits:
            target = hit.resource if hit.resource is not None else getattr(item, "res", item)
            tfile = getattr(target, "file", file)
            if hit.line is not None:
                line = hit.line
            elif hit.path and hasattr(target, "source_at"):  # rendered: the template, base or patch
                tfile, line = target.source_at(*hit.path)
            elif hit.path and hasattr(target, "line_at"):
                line = target.line_at(*hit.path)
            else:
                line = getattr(target, "line", default_line) if hit.resource is not None else default_line
            location = hit.location if hit.location is not None else (_location(hit.path) or hit.message)
            seen_key = (chk.id, id(target), location)
            if seen_key in self.seen:
                continue
            unknowns = _unknowns(target)
            if unknowns is not None and hit.path and unknowns.under_unknown(hit.path):
                continue  # about a value Terraform knows only at plan time: not a finding
            self.seen.add(seen_key)
            asset_id = getattr(target, "key", "") or file
            message = hit.message
            via = getattr(target, "via", ())
            if via:  # a module's resource: the calls that made it, where the user sets what the check saw
                message += " (through module call " + " > ".join(f"{f}:{n}" for f, n in via) + ")"
            patch, fix = hit.patch, hit.fix
            if patch and unknowns is not None:  # declared in Terraform: the fix is to its block
                hcl = hcl_fix(patch, str(target.extra.get("terraform", "")))
                if hcl is not None:
                    patch, fix = None, fix or hcl
            self.rows.append((chk.id, target, file, tfile, line, message, location, patch, fix,
                              asset_id, finding_id(chk.id, asset_id, location)))

    def run(self, chk: Check, item: Any, file: str, line: int, what: str | None = None) -> None:
        unknowns = _unknowns(getattr(item, "res", item))
        reads = unknowns.reads if unknowns is not None else 0
        try:
            hits = list(chk.run(item, self.ctx))
            if unknowns is not None and unknowns.reads != reads:
                hits = []  # the verdict rests on a value Terraform knows only at plan time
        except NeedsInventory:
            self.deferred.append((chk.id, item, file, line))
            return
        except Exception as exc:  # a broken check on one resource never ends the run
            if isinstance(self.ctx, _PartContext):  # report it from the whole inventory, with asset ids
                self.deferred.append((chk.id, item, file, line))
                return
            self.problems.append(InputProblem(
                file, line, f"check {chk.id} failed on {what or _what(item)}: {type(exc).__name__}: {exc}"))
            return
        if hits:
            self.emit(chk, hits, item, file, line)

    def run_items(self, inv: Inventory, checks: list[Check]) -> None:
        """Every per-resource check on every resource, workload, Dockerfile and Terraform block."""
        by_target: dict[str, list[Check]] = {}
        for c in checks:
            by_target.setdefault(c.target, []).append(c)
        k8s_checks = by_target.get("k8s", [])
        wl_checks = by_target.get("workload", [])
        try:
            for res, w in zip(inv.k8s, inv.workloads_by_resource, strict=True):
                checking(res, w)  # every check of this resource asking for its workload gets this one
                for c in k8s_checks:
                    if c.kinds is None or res.kind in c.kinds:
                        self.run(c, res, res.file, res.line)
                if w is not None:
                    for c in wl_checks:
                        if c.kinds is None or w.kind in c.kinds:
                            self.run(c, w, res.file, res.line)
        finally:
            checking(None)
        for df in inv.dockerfiles:
            for c in by_target.get("dockerfile", []):
                self.run(c, df, df.file, 1)
        tf_checks = by_target.get("terraform", [])
        for r in inv.terraform:
            for c in tf_checks:
                if c.resource_types is None or r.type in c.resource_types:
                    self.run(c, r, r.file, r.line)
        for c in by_target.get("files", []):
            self.run(c, inv, inv.root, 0, "the inventory")


def _unknowns(target: Any) -> Unknowns | None:
    """The unknown values of an object declared in Terraform (``None`` for any other)."""
    extra = getattr(target, "extra", None)
    return extra.get("unknowns") if extra else None


def _what(item: Any) -> str:
    """How a check failure names the item: its asset id."""
    return str(getattr(getattr(item, "res", item), "key", ""))


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


@dataclass(slots=True)
class PartResult:
    """What the per-resource checks found on one part of the inventory, where it was parsed."""

    rows: list[Row]
    problems: list[InputProblem]
    deferred: list[tuple[str, Any, str, int]]


def check_part(part: Inventory, config: Config, checks: list[Check]) -> PartResult:
    """Run the per-resource checks on a freshly parsed part (in the process that parsed it).

    Checks that need more than their own resource (assets, other resources) are deferred to the
    whole inventory; cross-resource (``inventory``) checks always run there.
    """
    runner = _Runner(_PartContext(part, config))
    from cnsec.assess.assets import k8s_asset_id

    for res in part.k8s:  # provisional: the final ids are given once the whole inventory is known
        res.key = k8s_asset_id(res)
    for tf in part.terraform:
        tf.key = tf.address
    runner.run_items(part, checks)
    return PartResult(runner.rows, runner.problems, runner.deferred)


def _to_findings(rows: Iterable[Row], checks: dict[str, Check], findings: list[Finding],
                 seen: set[str]) -> None:
    """Rows become findings once every resource has its asset id; the first of a duplicate id wins."""
    static = {c.id: (c.title, c.severity, c.threats, c.remediation, c.equivalents, c.control)
              for c in checks.values()}
    sources: dict[tuple[str, int], Source] = {}  # immutable: findings on one line share one
    add = findings.append
    for cid, target, file, tfile, line, message, location, patch, fix, guess, fid in rows:
        asset_id = getattr(target, "key", "") or file
        if asset_id != guess:
            fid = finding_id(cid, asset_id, location)
        if fid in seen:
            continue
        seen.add(fid)
        source = sources.get((tfile, line))
        if source is None:
            source = sources[(tfile, line)] = Source(tfile, line)
        title, severity, threats, remediation, equivalents, control = static[cid]
        add(Finding(fid, cid, title, severity, asset_id, source, message, threats, remediation, equivalents,
                    control, location, patch, fix))


def run_checks(inv: Inventory, config: Config, assets: list[Asset], checks: list[Check],
               parts: list[PartResult] | None = None) -> tuple[list[Finding], list[InputProblem]]:
    """Every check on the inventory, or what is left of them when ``parts`` already ran beside the
    parser: their deferred items and the cross-resource checks. The result does not depend on how
    the inventory was split: findings are de-duplicated by id and the caller sorts them."""
    runner = _Runner(Context(inv, config, {a.id: a for a in assets}))
    by_id = {c.id: c for c in checks}
    if parts is None:
        runner.run_items(inv, checks)
    else:
        for part in parts:
            runner.problems.extend(part.problems)
            for cid, item, file, line in part.deferred:
                if isinstance(item, Inventory):  # a files check on a part: named as on the whole
                    runner.run(by_id[cid], item, inv.root, line, "the inventory")
                else:
                    runner.run(by_id[cid], item, file, line)
    for c in checks:
        if c.target == "inventory":
            runner.run(c, inv, inv.root, 0, "the inventory")
    findings: list[Finding] = []
    seen: set[str] = set()
    for part in parts or ():
        _to_findings(part.rows, by_id, findings, seen)
    _to_findings(runner.rows, by_id, findings, seen)
    problems = runner.problems
    problems.sort(key=lambda p: (p.file, p.line or 0, p.message))
    return findings, problems


def _peer_map(checks: list[Check]) -> PeerMap:
    """Checkov id -> the cnsec checks that list it among their equivalents."""
    peers: dict[str, list[str]] = {}
    for c in checks:
        for peer_id in c.info.equivalents.get("checkov", ()):
            peers.setdefault(peer_id, []).append(c.id)
    return {k: tuple(v) for k, v in peers.items()}


def _waivers_for(inv: Inventory, problems: list[InputProblem], peers: PeerMap) -> dict[str, list[Waiver]]:
    """Per asset: waivers from its annotations and from comments inside its lines (cnsec's own and
    Checkov's, through the checks' equivalents)."""
    out: dict[str, list[Waiver]] = {}

    def commented(file: str) -> bool:
        return inv.mentions(file, WAIVER_MARK) or inv.mentions(file, PEER_MARK)

    for res in inv.k8s:
        ws: list[Waiver] = []
        ann = res.annotations.get(ANNOTATION)
        if isinstance(ann, str):
            ws += parse_annotation(ann, f"annotation on {res.key}", problems, res.file, res.line)
        elif ann is not None:
            problems.append(InputProblem(res.file, res.line, f"{ANNOTATION} on {res.key} must be a string "
                                                             f"('ID=reason; ID=reason'); it is not applied"))
        if res.annotations:
            ws += checkov_annotation_waivers(res.annotations, f"annotation on {res.key}", peers, problems,
                                             res.file, res.line)
        if commented(res.file):
            ws += comment_waivers(inv.lines(res.file), res.line, res.end_line, res.file, problems, peers)
        if ws:
            out[res.key] = ws
    for df in inv.dockerfiles:
        ws = comment_waivers(df.lines, 1, len(df.lines), df.file, problems, peers)
        if ws:
            out[df.key] = ws
    for r in inv.terraform:
        ws = comment_waivers(inv.lines(r.file), r.line, r.end_line, r.file, problems, peers) \
            if commented(r.file) else []
        if ws:
            out[r.key] = ws
    return out


def assess_inventory(inv: Inventory, config: Config, *, only: set[str] | None = None,
                     skip: set[str] | None = None, checks: list[Check] | None = None,
                     parts: list[PartResult] | None = None,
                     on_findings: Callable[[list[Finding]], None] | None = None,
                     snippets: bool = True, extend: Extend | None = None) -> Report:
    """Assess a loaded inventory; ``parts`` are the per-resource results of :func:`check_part`
    when they already ran beside the parser (see :func:`assess`). ``on_findings`` sees the findings
    once they are final (sorted, suppressions applied, fixes redacted), before risks and the plan
    are built from them: the CLI starts rendering them there. ``snippets``: attach source snippets
    to the worst findings (only the Markdown report shows them). ``extend`` adds assets and findings
    from outside the inventory before suppressions, risks and the plan (``--images``:
    :class:`cnsec.vulns.risk.ImageJoin`)."""
    started = time.perf_counter()
    assets = build_assets(inv, config)
    if checks is None:
        checks = select_checks(config, only, skip)
    findings, check_problems = run_checks(inv, config, assets, checks, parts)
    problems = list(inv.problems) + check_problems
    if extend is not None:
        extend(inv, assets, findings, problems)
    # in file order before anything reads them: risks list their findings, and that order must not
    # depend on how the inventory was split between processes
    findings.sort(key=lambda f: (f.source.file, f.source.line or 0, f.check_id, f.id))
    waivers = _waivers_for(inv, problems, _peer_map(checks))
    if waivers:
        for f in findings:
            ws = waivers.get(f.asset_id)
            if ws:
                apply_waivers([f], ws)
    apply_config(findings, config, problems)
    secret_lines = _secret_lines(findings)
    secret_values = _secret_values(inv, secret_lines)
    _redact_fixes(findings, secret_values)
    if on_findings is not None:
        on_findings(findings)
    from cnsec.assess.plan import build_plan
    from cnsec.assess.risk import group, score_risks

    asset_map = {a.id: a for a in assets}
    groups = group(findings)
    risks = score_risks(findings, asset_map, groups)
    plan = build_plan(findings, risks, asset_map, inv, groups)
    catalog = threat_catalog()
    used = {r.threat_id for r in risks} | {t for f in findings for t in f.threat_ids}
    if snippets:
        _add_snippets(findings, inv, secret_lines=secret_lines, values=secret_values)
    report = Report(
        kind="assessment", findings=findings, assets=assets,
        threats=[catalog[t] for t in sorted(used) if t in catalog], risks=risks, plan=plan,
        errors=problems, skipped=list(inv.skipped), rules={c.id: c.info for c in checks}, target=inv.root,
        config=config.path,
    )
    report.stats.update({
        "files": inv.files_read,
        "resources": len(inv.k8s) + len(inv.dockerfiles) + len(inv.terraform),
        "checks": len(checks),
        "templates_skipped": inv.templates_skipped,
        "excluded": inv.excluded,
        **({"rendered": inv.rendered} if inv.rendered else {}),
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

    Before it is, what the batch left alive is moved out of the collector's sight (``gc.freeze``):
    otherwise the first allocation afterwards walks the millions of objects of the young generation
    (80 ms on the corpus, once per batch). They are still freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def assess(targets: list[str], config: Config, *, only: set[str] | None = None,
           skip: set[str] | None = None, workers: int | None = None,
           on_findings: Callable[[list[Finding]], None] | None = None, snippets: bool = True,
           render: HelmOptions | None = None, extend: Extend | None = None) -> Report:
    """Load and assess ``targets``. The per-resource checks run on each part of the inventory in the
    process that parsed it, while it is fresh there (no second fork, and only the findings travel);
    checks that need the whole inventory run afterwards on it. ``render``: render the Helm charts
    and Kustomize overlays in folders (see :func:`~cnsec.assess.inventory.scan_inventory`)."""
    started = time.perf_counter()
    checks = select_checks(config, only, skip)
    with batch_gc():
        inv, parts = scan_inventory(targets, functools.partial(check_part, config=config, checks=checks),
                                    workers=workers, exclude=config.exclude, render=render)
        report = assess_inventory(inv, config, checks=checks, parts=parts, on_findings=on_findings,
                                  snippets=snippets, extend=extend)
    report.stats["seconds"] = round(time.perf_counter() - started, 3)
    return report
