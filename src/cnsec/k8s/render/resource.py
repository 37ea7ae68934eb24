"""A rendered object that points back to the file a person edits: the template, base or patch.

Checks see the rendered object (what is deployed); a finding's file and line come from the source
it was rendered from. Two kinds of source:

- a YAML document (Kustomize: the base or overlay file the object came from, and the patches that
  changed it): the line of the deepest key of the finding's path that the document has;
- a Go template (Helm): the line where the path's keys are found, one after the other, each
  indented deeper than the one before, in the part of the template that makes the object.

Where the key is in neither, the finding points to its nearest ancestor that is (the object's
line at worst), as for a plain manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnsec.k8s.resource import K8sResource
from cnsec.model.finding import InputProblem
from cnsec.yamlsafe import LineDict


def doc_depth(doc: Any, path: tuple[str | int, ...]) -> tuple[int, int | None]:
    """How many steps of ``path`` a parsed document has, and the line of the deepest one."""
    node: Any = doc
    line = doc.line if isinstance(doc, LineDict) and doc.line else None
    depth = 0
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                break
            node = node[step]
            if isinstance(node, LineDict) and node.line:
                line = node.line
        else:
            if not isinstance(node, dict) or step not in node:
                break
            if isinstance(node, LineDict):
                line = node.key_lines.get(step, line)
            node = node[step]
        depth += 1
    return depth, line


@dataclass(frozen=True, slots=True)
class DocSource:
    """A YAML document in a file (a Kustomize base, resource or patch)."""

    file: str
    doc: Any

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, int | None]:
        return doc_depth(self.doc, path)


_KEY = re.compile(r"^(\s*)(?:-\s+)*([A-Za-z0-9_.\-/\"']+)\s*:(?:\s|$)")


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """The lines of a Go template (one file, maybe several documents) that make one object:
    ``start``..``end`` (1-based, inclusive)."""

    file: str
    lines: tuple[str, ...]
    start: int
    end: int

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, int | None]:
        """The path's keys found in order, each indented deeper than the last one found; list
        indexes are not in a template's text and are stepped over."""
        depth = 0
        line: int | None = None
        at = self.start - 1
        indent = -1
        for step in path:
            if isinstance(step, int):
                depth += 1
                continue
            found = None
            for n in range(at + 1 if line else at, self.end):
                m = _KEY.match(self.lines[n])
                if m is None:
                    continue
                width = m.start(2)
                if m.group(2).strip("\"'") == step and width > indent:
                    found = n
                    indent = width
                    break
            if found is None:
                break
            depth += 1
            line = found + 1
            at = found
        return depth, line


Source = DocSource | TemplateSource


@dataclass(slots=True)
class RenderedResource(K8sResource):
    """A :class:`K8sResource` made by a renderer; ``file``/``line`` are its first source's, and
    :meth:`source_at` says where a finding on one of its fields points."""

    sources: tuple[Source, ...] = field(default=())

    def source_at(self, *path: str | int) -> tuple[str, int]:
        best: tuple[int, str, int] | None = None
        for src in self.sources:
            depth, line = src.locate(path)
            if line is not None and (best is None or depth > best[0]):
                best = (depth, src.file, line)
        if best is None:
            return self.file, self.line
        return best[1], best[2]

    def line_at(self, *path: str | int) -> int:
        file, line = self.source_at(*path)
        return line if file == self.file else self.line


@dataclass(slots=True)
class Rendered:
    """What a renderer made of one chart or overlay."""

    resources: list[RenderedResource] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # the source files' text, by display path
    problems: list[InputProblem] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # absolute paths of files the render read
    skipped: list[InputProblem] = field(default_factory=list)  # rendered, but nothing to assess
