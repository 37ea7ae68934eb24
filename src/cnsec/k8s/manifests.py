"""Kubernetes manifests (YAML or JSON, multi-document, ``kind: List``) → :class:`K8sResource`.

Anything with ``apiVersion`` and ``kind`` is kept: unknown kinds and CRDs become resources of type
``other``, never a crash. Non-Kubernetes YAML is left out quietly (it is not an input of ours).
A document that does not load is an input problem, or a skipped template when it looks like one
(Helm, Go templates): what loads is assessed, ``{{ … }}`` in its strings or not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cnsec.k8s.resource import K8sResource
from cnsec.model.finding import InputProblem
from cnsec.yamlsafe import LineDict, load_each_document, may_be_deep, shape_problem


def _is_k8s(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("kind"), str) and "apiVersion" in doc


def _expand(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten ``kind: List`` (and ``*List`` kinds such as ``DeploymentList``) into their items."""
    kind = doc.get("kind", "")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                if "kind" not in item and kind != "List":
                    item = dict(item)
                    item["kind"] = kind[: -len("List")]
                    item.setdefault("apiVersion", doc.get("apiVersion", "v1"))
                if _is_k8s(item):
                    yield from _expand(item)
        return
    yield doc


def _make(doc: dict[str, Any], file: str, line: int, end_line: int) -> K8sResource:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    name = meta.get("name") or meta.get("generateName") or "(unnamed)"
    ns = meta.get("namespace")
    item_line = doc.line if isinstance(doc, LineDict) and doc.line else line
    return K8sResource(
        kind=str(doc["kind"]),
        api_version=str(doc.get("apiVersion")),
        name=str(name),
        namespace=str(ns) if ns else None,
        doc=doc,
        file=file,
        line=item_line,
        end_line=end_line,
    )


def looks_like_template(text: str) -> bool:
    """Go template actions (Helm): only asked of text that does not load as YAML or JSON."""
    return "{{" in text and ("}}" in text) and ("{{-" in text or "{{ ." in text or "{{." in text
                                                or "{{ include" in text or "{{ if" in text)


TEMPLATE_SKIPPED = "a Go/Helm template ({{ … }}) that is not valid YAML; skipped (render it first: helm template)"


@dataclass(slots=True)
class Parsed:
    """One file's resources, its problems, and what was skipped in it (templates that do not load)."""

    file: str
    resources: list[K8sResource] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    templates: list[int | None] = field(default_factory=list)  # where each skipped template starts

    def failed(self, line: int | None, message: str, text: str) -> None:
        """A part that does not load: a skipped template, or an input problem."""
        if looks_like_template(text):
            self.templates.append(line)
        else:
            self.problems.append(InputProblem(self.file, line, message))

    @property
    def skipped(self) -> list[InputProblem]:
        """One entry per file, at its first skipped template, counting the others."""
        if not self.templates:
            return []
        n = len(self.templates)
        return [InputProblem(self.file, self.templates[0],
                             TEMPLATE_SKIPPED if n == 1 else f"{n} documents: {TEMPLATE_SKIPPED}")]


def parse_k8s(text: str, file: str) -> Parsed:
    """Parse one file's text. A malformed document becomes a problem (or a skipped template); the
    file's other documents, before and after it, are kept."""
    out = Parsed(file)
    resources = out.resources
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) and file.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            out.failed(exc.lineno, f"invalid JSON: {exc.msg}", text)
            return out
        except RecursionError:
            out.problems.append(InputProblem(file, 1, "invalid JSON: the document is nested too deeply"))
            return out
        shape = shape_problem(data) if may_be_deep(text) else None
        if shape is not None:
            out.problems.append(InputProblem(file, 1, f"invalid JSON: the document {shape}"))
            return out
        total_lines = text.count("\n") + 1
        for item in (data if isinstance(data, list) else [data]):
            if _is_k8s(item):
                for res in _expand(item):
                    resources.append(_make(res, file, 1, total_lines))
        return out
    starts, errors = load_each_document(text)
    for err in errors:
        out.failed(err.line, err.message, err.text)
    total_lines = text.count("\n") + 1
    for i, (doc, line) in enumerate(starts):
        end = starts[i + 1][1] - 1 if i + 1 < len(starts) else total_lines
        if _is_k8s(doc):
            for res in _expand(doc):
                resources.append(_make(res, file, line, end))
        elif isinstance(doc, list):
            for item in doc:
                if _is_k8s(item):
                    for res in _expand(item):
                        resources.append(_make(res, file, line, end))
    return out
