"""Charts and overlays found while walking a folder: which to render, and which files they take.

What is rendered, and why (see docs/charts.md):

- A folder with ``Chart.yaml`` is a Helm chart: rendered with its own values (``--values``/``--set``
  /``--release`` apply only to a chart given as PATH); nothing under it is read as a plain file
  (its templates are not YAML, its values files are not manifests, its ``charts/`` are subcharts).
- A folder with ``kustomization.yaml`` is rendered unless another kustomization found in the walk
  takes it in (``resources``/``bases``/``components``): a base is assessed through the overlays that
  use it, once per overlay, as it is deployed, never again on its own. A ``Component`` nobody
  uses is skipped, and said so.
- Every file an overlay reads (its resources, patches, generator inputs, the kustomization files)
  is left out of the plain reading, so an object is never counted twice; a file no overlay reads
  is read as before.

A chart or overlay that cannot be rendered is an input error (:class:`RenderProblem`): the run
exits 2 whatever else it found, and its files are not read as plain files either (half-rendered
patches would give findings on fragments).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cnsec.k8s.render.helm import CHART_FILE, HelmOptions, is_chart, render_chart
from cnsec.k8s.render.kustomize import KUSTOMIZATION_FILES, Layout, kustomization_file, layout, render_overlay
from cnsec.k8s.render.resource import Rendered
from cnsec.k8s.render.tools import RenderError
from cnsec.model.finding import InputProblem

#: renderers run as separate programs: a few at once keep both cores busy
RENDER_THREADS = 4
MAX_DEPTH = 40
#: a file given as PATH that stands for its folder: the chart or overlay it makes
RENDER_FILES = frozenset((CHART_FILE, *KUSTOMIZATION_FILES))


@dataclass(frozen=True, slots=True)
class RenderProblem(InputProblem):
    """A chart or overlay that could not be rendered: an input error that fails the run (exit 2)."""


@dataclass(slots=True)
class Tree:
    """The renders of one walked folder and what they take out of the plain reading."""

    rendered: list[Rendered] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    skipped: list[InputProblem] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # absolute chart folders: their whole subtree
    consumed: set[str] = field(default_factory=set)  # absolute files read by an overlay
    failed: int = 0  # charts and overlays that could not be rendered

    def excludes(self, display: str) -> bool:
        path = os.path.abspath(display)
        return path in self.consumed or any(path.startswith(c + os.sep) for c in self.charts)


def discover(top: str, skip_dirs: Iterable[str]) -> tuple[list[str], list[str]]:
    """(chart folders, kustomization folders) under ``top`` as displayed paths, in walk order;
    a chart's subtree is not entered, symbolic links are not followed."""
    skip = set(skip_dirs)
    charts: list[str] = []
    overlays: list[str] = []
    base_depth = top.rstrip(os.sep).count(os.sep)
    for here, dirs, _files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in skip and not os.path.islink(os.path.join(here, d)))
        if here.count(os.sep) - base_depth >= MAX_DEPTH:
            dirs[:] = []
        shown = os.path.normpath(here)  # 'samples/x', as the plain walk names files, not './samples/x'
        if is_chart(here):
            charts.append(shown)
            dirs[:] = []
        elif kustomization_file(here) is not None:
            overlays.append(shown)
    return charts, overlays


def _inside(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f + os.sep) for f in folders)


def render_tree(top: str, explicit: HelmOptions, skip_dirs: Iterable[str],
                released: Iterable[str] = ()) -> Tree:
    """Render every chart and top overlay under ``top`` (a folder as displayed); ``explicit`` are
    the options for ``top`` itself when it is a chart. ``released``: absolute chart folders a Terraform
    ``helm_release`` installs — rendered with the release's values by assess, not here with defaults
    (their files are still not read as plain files)."""
    released = frozenset(released)
    tree = Tree()
    charts, overlays = discover(top, skip_dirs)
    layouts: dict[str, Layout] = {o: layout(o) for o in overlays}
    taken_in: set[str] = set()  # kustomization folders another kustomization takes in
    chart_homes: set[str] = set()
    for o, lay in layouts.items():
        own = os.path.abspath(o)
        taken_in |= {os.path.dirname(k) for k in lay.kustomizations if os.path.dirname(k) != own}
        tree.consumed |= lay.files
        if lay.helm:
            chart_homes |= lay.chart_homes
    jobs: list[tuple[str, str, HelmOptions]] = []
    for o, lay in layouts.items():
        if os.path.abspath(o) in taken_in:
            continue
        if lay.component:
            tree.skipped.append(InputProblem(kustomization_file(o) or o, None,
                                             "a Kustomize Component that no overlay here uses; skipped "
                                             "(it is assessed through the overlays that use it)"))
            continue
        jobs.append(("kustomize", o, HelmOptions()))
    for c in charts:
        absolute = os.path.abspath(c)
        tree.charts.append(absolute)
        if _inside(absolute, chart_homes) or absolute in released:
            continue  # an overlay's helmCharts, or a helm_release, renders it with its own values
        same = absolute == os.path.abspath(top)
        jobs.append(("chart", c, explicit if same else HelmOptions()))
    for kind, path, result in _run(jobs):
        if isinstance(result, RenderError):
            where = kustomization_file(path) if kind == "kustomize" else os.path.join(path, "Chart.yaml")
            tree.problems.append(RenderProblem(where or path, None, str(result)))
            tree.failed += 1
            continue
        tree.rendered.append(result)
        tree.consumed |= result.consumed
        tree.problems += result.problems
        tree.skipped += result.skipped
    return tree


def render_one(kind: str, path: str, opts: HelmOptions) -> Rendered:
    return render_overlay(path) if kind == "kustomize" else render_chart(path, opts)


def _attempt(job: tuple[str, str, HelmOptions]) -> tuple[str, str, Rendered | RenderError]:
    kind, path, opts = job
    try:
        return kind, path, render_one(kind, path, opts)
    except RenderError as exc:
        return kind, path, exc


def _run(jobs: list[tuple[str, str, HelmOptions]]) -> list[tuple[str, str, Rendered | RenderError]]:
    if len(jobs) <= 1:
        return [_attempt(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=min(RENDER_THREADS, len(jobs))) as pool:
        return list(pool.map(_attempt, jobs))
