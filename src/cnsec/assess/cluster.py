"""Assess what a live cluster runs: the reader's objects become an inventory like files do, so every
check, the risk register, the plan, suppressions and baselines work on them unchanged.

A live finding's ``source.file`` is the object's ``cluster://<context>/<namespace>/<kind>/<name>``
and its ``line`` is ``null``; its ``location`` is the field path inside the object. Its ``id`` is the
same as for the manifest the object came from (check, asset id ``Kind/namespace/name``, field path),
so a baseline written from the manifests hides the same findings in the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cnsec.assess.config import Config
from cnsec.assess.inventory import Inventory
from cnsec.k8s.live.options import LIVE, unline
from cnsec.model.finding import Finding
from cnsec.model.source import Source

if TYPE_CHECKING:
    from cnsec.assess.checks.base import Check
    from cnsec.assess.engine import Extend, PartResult
    from cnsec.k8s.live.reader import ClusterRead
    from cnsec.model.report import Report

#: Below this many objects one process checks them all: forking and pickling would cost more.
PARALLEL_MIN_OBJECTS = 2000
#: What each forked worker checks (set before forking, as the file loader does: nothing is pickled in).
_WORK: tuple[list[Inventory], Config, list[Check]] | None = None


def _check(index: int) -> tuple[Inventory, PartResult]:
    """The per-object checks of one part, in the process that holds it. The part travels back with
    its result in one pickle, so the result's objects are the part's objects (the whole inventory is
    then made of the returned parts, and the final asset ids land on the objects the rows name)."""
    from cnsec.assess.engine import check_part

    assert _WORK is not None
    parts, config, checks = _WORK
    part = parts[index]
    result = check_part(part, config, checks)
    part.drop_caches()
    return part, result


def _checked_in_parts(inv: Inventory, config: Config, checks: list[Check],
                      workers: int | None) -> list[Any] | None:
    """Run the per-object checks on ``workers`` processes (the CPU count by default), each on every
    n-th object; ``inv.k8s`` becomes the returned parts' objects, in the reader's order. ``None`` when
    one process does it (few objects, one CPU, or no ``fork``)."""
    global _WORK
    import multiprocessing as mp

    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1 or len(inv.k8s) < PARALLEL_MIN_OBJECTS or "fork" not in mp.get_all_start_methods():
        return None
    from concurrent.futures import ProcessPoolExecutor

    parts = []
    for i in range(n):
        part = Inventory(root="")
        part.k8s = inv.k8s[i::n]
        parts.append(part)
    _WORK = (parts, config, checks)
    try:
        with ProcessPoolExecutor(max_workers=n - 1, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_check, i) for i in range(1, n)]
            done = [_check(0)] + [f.result() for f in futures]
    finally:
        _WORK = None
    merged: list[Any] = [None] * len(inv.k8s)
    for i, (part, _) in enumerate(done):  # each returned object stands where its original stood
        merged[i::n] = part.k8s
    inv.k8s = merged
    return [result for _, result in done]


def cluster_inventory(read: ClusterRead) -> Inventory:
    inv = Inventory(root=read.root)
    inv.k8s = list(read.resources)
    inv.problems = list(read.problems)
    inv.skipped = list(read.skipped)
    return inv


def assess_cluster(read: ClusterRead, config: Config, *, only: set[str] | None = None,
                   skip: set[str] | None = None,
                   on_findings: Callable[[list[Finding]], None] | None = None,
                   workers: int | None = None, extend: Extend | None = None) -> Report:
    """Assess what was read. The per-object checks run on ``workers`` processes for large clusters
    (as the file loader's parts do); the result does not depend on the split. ``extend``: as for
    :func:`~cnsec.assess.engine.assess_inventory` (``--images``)."""
    import time

    from cnsec.assess.engine import assess_inventory, select_checks

    started = time.perf_counter()

    def final(findings: list[Finding]) -> None:
        unline(findings)
        if on_findings is not None:
            on_findings(findings)

    inv = cluster_inventory(read)
    checks = select_checks(config, only, skip)
    parts = _checked_in_parts(inv, config, checks, workers)
    report = assess_inventory(inv, config, checks=checks, parts=parts, on_findings=final, snippets=False,
                              extend=extend)
    pods = {r.key: r.extra["pods"] for r in inv.k8s if r.extra.get("pods")}
    for asset in report.assets:
        if asset.source.file.startswith(LIVE):
            asset.source = Source(asset.source.file, None)
        if asset.id in pods:  # the replicas folded into this controller
            asset.attrs["pods"] = pods[asset.id]
    report.stats["seconds"] = round(time.perf_counter() - started, 3)  # the checks run in parts included
    report.stats["files"] = 0
    report.stats["cluster"] = {k: v for k, v in read.stats.items() if k != "kinds"}
    report.stats["cluster"]["kinds"] = read.stats.get("kinds", {})
    return report
