"""Assess what a live cluster runs: the reader's objects become an inventory like files do, so every
check, the risk register, the plan, suppressions and baselines work on them unchanged.

A live finding's ``source.file`` is the object's ``cluster://<context>/<namespace>/<kind>/<name>``
and its ``line`` is ``null``; its ``location`` is the field path inside the object. Its ``id`` is the
same as for the manifest the object came from (check, asset id ``Kind/namespace/name``, field path),
so a baseline written from the manifests hides the same findings in the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cnsec.assess.config import Config
from cnsec.assess.inventory import Inventory
from cnsec.k8s.live.options import LIVE, unline
from cnsec.model.finding import Finding
from cnsec.model.source import Source

if TYPE_CHECKING:
    from cnsec.k8s.live.reader import ClusterRead
    from cnsec.model.report import Report


def cluster_inventory(read: ClusterRead) -> Inventory:
    inv = Inventory(root=read.root)
    inv.k8s = list(read.resources)
    inv.problems = list(read.problems)
    inv.skipped = list(read.skipped)
    return inv


def assess_cluster(read: ClusterRead, config: Config, *, only: set[str] | None = None,
                   skip: set[str] | None = None,
                   on_findings: Callable[[list[Finding]], None] | None = None) -> Report:
    from cnsec.assess.engine import assess_inventory

    def final(findings: list[Finding]) -> None:
        unline(findings)
        if on_findings is not None:
            on_findings(findings)

    report = assess_inventory(cluster_inventory(read), config, only=only, skip=skip, on_findings=final,
                              snippets=False)
    pods = {r.key: r.extra["pods"] for r in read.resources if r.extra.get("pods")}
    for asset in report.assets:
        if asset.source.file.startswith(LIVE):
            asset.source = Source(asset.source.file, None)
        if asset.id in pods:  # the replicas folded into this controller
            asset.attrs["pods"] = pods[asset.id]
    report.stats["files"] = 0
    report.stats["cluster"] = {k: v for k, v in read.stats.items() if k != "kinds"}
    report.stats["cluster"]["kinds"] = read.stats.get("kinds", {})
    return report
