"""One correlation run: load the catalog and the engine rules it needs, merge the inputs by time, feed
the correlator, persist baselines. Shared by ``cnsec correlate`` and ``cnsec detect --threats``."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cnsec.detect.correlate import DEFAULT_LATENESS
from cnsec.detect.correlate.catalog import DEFAULT_MAX_KEYS, Catalog, load_catalog
from cnsec.detect.correlate.inputs import EngineBridge, Stats, merge, open_file_records, ordered
from cnsec.detect.correlate.metrics import ConfiguredMapping
from cnsec.detect.correlate.runner import Correlator
from cnsec.model.event import Alert


@dataclass
class RunResult:
    alerts: list[Alert]
    stats: dict[str, Any]
    problems: list[Any]
    warnings: list[str] = field(default_factory=list)
    #: signs that found no input they could read: ``{"sign", "input", "reads"}`` (never a silent "no
    #: alerts"): ``input`` in a few words, ``reads`` in full
    idle_signs: list[dict[str, str]] = field(default_factory=list)
    #: inputs lost (missing, unreadable, of no known format): file → reason; the run exits 2
    failed: dict[str, str] = field(default_factory=dict)


def idle_signs(catalog: Catalog, stats: Stats) -> list[dict[str, str]]:
    """The signs of the catalog that the run gave nothing to read, with what they read."""
    return [{"sign": s.id, "input": s.input_name(), "reads": s.reads()} for s in catalog.signs.values()
            if not s.had_input(stats.kinds)]


def _result(corr: Correlator, stats: Stats, inputs: int, warnings: list[str]) -> RunResult:
    summary = {**stats.to_dict(), **corr.stats(), "inputs": inputs}
    return RunResult(corr.alerts(), summary, list(stats.problems), warnings,
                     idle_signs(corr.catalog, stats), dict(stats.failed))


def build(threats: list[str] | None, *, rules_paths: list[str] | None = None, default_rules: bool = True,
          max_keys: int = DEFAULT_MAX_KEYS) -> tuple[Catalog, EngineBridge | None, list[str]]:
    """The catalog(s) and an engine running exactly the detection rules their signs name."""
    from cnsec.detect.rules import LoadResult, bundled, load_paths

    catalog = Catalog(origin="threats")
    for path in threats or [None]:  # type: ignore[list-item]
        catalog.extend(load_catalog(path, max_keys))
    warnings: list[str] = []
    needed = catalog.engine_rule_ids()
    if not needed:
        return catalog, None, warnings
    loaded = LoadResult()
    if default_rules:
        loaded.extend(bundled())
    if rules_paths:
        loaded.extend(load_paths(rules_paths))
    by_id = {r.id: r for r in loaded.rules}
    for r in catalog.engine_rules:
        by_id.setdefault(r.id, r)
    missing = sorted(needed - set(by_id))
    if missing:
        warnings.append(f"signs name detection rules that are not loaded: {', '.join(missing)}")
    rules = [by_id[i] for i in sorted(needed) if i in by_id]
    return catalog, (EngineBridge(rules) if rules else None), warnings


@contextlib.contextmanager
def few_gc_passes() -> Iterator[None]:
    """Records are acyclic dicts made by the million: the cyclic collector's default pace (a pass every
    700 allocations, each walking every live key's state) costs more than the work; run it rarely."""
    old = gc.get_threshold()
    gc.set_threshold(200_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run(inputs: list[str], threats: list[str] | None = None, *, state: str | None = None,
        lateness: float = DEFAULT_LATENESS, max_keys: int = DEFAULT_MAX_KEYS, rules_paths: list[str] | None = None,
        default_rules: bool = True, max_evidence: int = 10,
        on_alert: Callable[[Alert], None] | None = None,
        mappings: list[ConfiguredMapping] | None = None) -> RunResult:
    """Correlate ``inputs``; one that cannot be read is reported in ``failed`` and the rest is read.
    ``mappings``: how metrics that follow no known convention become sign inputs (``.cnsec.yaml``)."""
    catalog, bridge, warnings = build(threats, rules_paths=rules_paths, default_rules=default_rules,
                                      max_keys=max_keys)
    corr = Correlator(catalog, max_evidence=max_evidence)
    if state:
        corr.load_state(state)
    stats = Stats()
    streams = [open_file_records(p, stats, bridge, lateness, mappings) for p in inputs]
    feed = corr.feed
    with few_gc_passes():
        for item in merge(streams):
            new = feed(item[3])
            if on_alert is not None:
                for a in new:
                    on_alert(a)
    _finish(corr, state, on_alert)
    return _result(corr, stats, len(inputs), warnings)


def _finish(corr: Correlator, state: str | None, on_alert: Callable[[Alert], None] | None) -> None:
    """Close what the input left open (reported like the others) and keep the state for next time."""
    for a in corr.finish():
        if on_alert is not None:
            on_alert(a)
    if state:
        corr.save_state(state)


def run_follow(path: str, threats: list[str] | None = None, *, state: str | None = None,
               lateness: float = DEFAULT_LATENESS, max_keys: int = DEFAULT_MAX_KEYS, idle_exit: float | None = None,
               rules_paths: list[str] | None = None, default_rules: bool = True,
               on_alert: Callable[[Alert], None] | None = None,
               mappings: list[ConfiguredMapping] | None = None) -> RunResult:
    """Like :func:`run` on one growing file (tail -F); alerts are reported as they open."""
    from cnsec.detect.correlate.inputs import file_records
    from cnsec.detect.sources.follow import follow

    catalog, bridge, warnings = build(threats, rules_paths=rules_paths, default_rules=default_rules,
                                      max_keys=max_keys)
    corr = Correlator(catalog)
    if state:
        corr.load_state(state)
    stats = Stats()
    lines = ((c.line, c.raw) for c in follow(path, idle_exit=idle_exit))
    with few_gc_passes():
        for item in ordered(file_records(lines, path, stats, bridge, 0.0, mappings), lateness, stats, path):
            for a in corr.feed(item[3]):
                if on_alert is not None:
                    on_alert(a)
    _finish(corr, state, on_alert)
    return _result(corr, stats, 1, warnings)
