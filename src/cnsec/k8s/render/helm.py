"""Helm charts through ``helm template``: values files, ``--set``, release name and namespace.

Each rendered document follows a ``# Source: <chart>/<path>`` comment naming the template that made
it; its findings point to that template, at the line where the finding's key is written (see
:class:`~cnsec.k8s.render.resource.TemplateSource`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.render.resource import Rendered, RenderedResource, TemplateSource
from cnsec.k8s.render.tools import find_tool, missing, read_source, run_tool
from cnsec.k8s.resource import CLUSTER_SCOPED
from cnsec.model.finding import InputProblem

CHART_FILE = "Chart.yaml"
#: ``helm template``'s own release name when none is given
DEFAULT_RELEASE = "release-name"


@dataclass(frozen=True, slots=True)
class HelmOptions:
    """What ``cnsec assess CHART --values … --set … --release … -n …`` passes to ``helm template``."""

    values: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    release: str | None = None
    namespace: str | None = None

    def given(self) -> bool:
        return bool(self.values or self.set or self.release)


def is_chart(folder: str | os.PathLike[str]) -> bool:
    return os.path.isfile(os.path.join(folder, CHART_FILE))


def helm_argv(helm: str, chart: str, opts: HelmOptions) -> list[str]:
    """``helm template RELEASE CHART [--namespace NS] [--values F]… [--set K=V]…``; the chart as an
    absolute path, so that a folder named like an option or a repository reference stays a folder."""
    argv = [helm, "template", opts.release or DEFAULT_RELEASE, os.path.abspath(chart)]
    if opts.namespace:
        argv += ["--namespace", opts.namespace]
    for v in opts.values:
        argv += ["--values", os.path.abspath(v)]
    for s in opts.set:
        argv += ["--set", s]
    return argv


_SOURCE = re.compile(r"^# Source: (.+?)\s*$")
_SEPARATOR = re.compile(r"^---\s*$")


def split_output(text: str) -> list[tuple[str | None, str]]:
    """``helm template``'s output as (template named by its ``# Source:`` comment, document text)."""
    out: list[tuple[str | None, str]] = []
    source: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines):
            out.append((source, "\n".join(lines) + "\n"))

    for line in text.splitlines():
        if _SEPARATOR.match(line):
            flush()
            source, lines = None, []
            continue
        m = _SOURCE.match(line)
        if m and source is None and not any(ln.strip() for ln in lines):
            source = m.group(1)
        lines.append(line)
    flush()
    return out


def template_path(chart_dir: str, source: str) -> str:
    """``mychart/templates/x.yaml`` (as Helm names it: the chart's name first) → the file under
    ``chart_dir``; a subchart's template stays under ``charts/<name>/`` as Helm says."""
    _, _, rest = source.partition("/")
    return os.path.join(chart_dir, rest or source)


def _segments(lines: tuple[str, ...]) -> list[tuple[int, int]]:
    """The documents of a template file: (first line, last line), 1-based."""
    out = []
    start = 1
    for n, line in enumerate(lines, 1):
        if _SEPARATOR.match(line):
            if n > start:
                out.append((start, n - 1))
            start = n + 1
    if start <= len(lines):
        out.append((start, len(lines)))
    return out or [(1, max(len(lines), 1))]


def _kind_line(lines: tuple[str, ...], start: int, end: int, kind: str) -> int | None:
    pattern = re.compile(rf"^\s*kind:\s*[\"']?{re.escape(kind)}[\"']?\s*(#.*)?$")
    for n in range(start, end + 1):
        if pattern.match(lines[n - 1]):
            return n
    return None


class _Templates:
    """Template files read once each; the k-th object of a kind from one template is matched to
    the k-th document of the template that writes ``kind: <Kind>`` (Helm keeps their order)."""

    def __init__(self) -> None:
        self.lines: dict[str, tuple[str, ...]] = {}
        self.texts: dict[str, str] = {}
        self.used: dict[tuple[str, str], int] = {}

    def read(self, file: str) -> tuple[str, ...]:
        if file not in self.lines:
            text = read_source(file)
            self.lines[file] = tuple(text.splitlines())
            if text:
                self.texts[file] = text
        return self.lines[file]

    def place(self, file: str, kind: str) -> tuple[int, int, int]:
        """(object line, first line, last line) of the object's part of the template."""
        lines = self.read(file)
        if not lines:
            return 1, 1, 1
        segments = _segments(lines)
        with_kind = [(s, e, k) for s, e in segments if (k := _kind_line(lines, s, e, kind)) is not None]
        n = self.used.get((file, kind), 0)
        self.used[(file, kind)] = n + 1
        if with_kind:
            start, end, line = with_kind[min(n, len(with_kind) - 1)]
            return line, start, end
        return 1, 1, len(lines)


def render_chart(chart_dir: str, opts: HelmOptions = HelmOptions(), *, helm: str | None = None) -> Rendered:
    """Render one chart folder (``chart_dir`` as it is displayed); :class:`RenderError` when Helm is
    missing or fails."""
    what = f"Helm chart {chart_dir}"
    helm = helm or find_tool("helm")
    if helm is None:
        raise missing("helm", what)
    output = run_tool(helm_argv(helm, chart_dir, opts), what=f"helm template {chart_dir}")
    out = Rendered()
    templates = _Templates()
    for source, text in split_output(output):
        file = template_path(chart_dir, source) if source else os.path.join(chart_dir, CHART_FILE)
        parsed = parse_k8s(text, file)
        for problem in parsed.problems + parsed.skipped:
            out.problems.append(InputProblem(file, None, f"helm rendered this template into invalid YAML: "
                                                         f"{problem.message}"))
        for res in parsed.resources:
            line, start, end = templates.place(file, res.kind)
            namespace = res.namespace
            if namespace is None and opts.namespace and res.kind not in CLUSTER_SCOPED:
                namespace = opts.namespace  # where `helm install -n` puts it, as the API server records it
                meta = res.doc.get("metadata")
                if isinstance(meta, dict):
                    meta["namespace"] = namespace
            lines = templates.read(file)
            sources = (TemplateSource(file, lines, start, end),) if lines else ()
            out.resources.append(RenderedResource(
                kind=res.kind, api_version=res.api_version, name=res.name, namespace=namespace, doc=res.doc,
                file=file, line=line, end_line=end, sources=sources))
    out.texts = templates.texts
    if not out.resources and not out.problems:  # every template conditional, and off by these values
        out.skipped.append(InputProblem(os.path.join(chart_dir, CHART_FILE), None,
                                        "helm template rendered no Kubernetes object from this chart"))
    return out
