"""Safe YAML loading that remembers line numbers and refuses YAML bombs.

Built on PyYAML's C parser (``CSafeLoader``) with a constructor that records, for every mapping, its
own line and the line of each key. Only safe tags are constructed, never arbitrary objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_ALIAS_EXPANSION = 1_000_000
#: Deeper documents are refused: no real manifest comes close, and the recursive code that renders
#: fixes and reports would otherwise hit Python's recursion limit on them.
MAX_DEPTH = 200
_DEEP_HINT = re.compile(rf"^[ \t]{{{MAX_DEPTH}}}|(?:- ){{{MAX_DEPTH // 4}}}", re.MULTILINE)


class LineDict(dict[str, Any]):
    """A mapping that knows its line and the line of each of its keys (1-based)."""

    __slots__ = ("key_lines", "line")

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.key_lines: dict[Any, int] = {}


class AliasBomb(yaml.YAMLError):
    """A document that is unsafe to walk: a YAML bomb, a cycle through aliases, or far too deep."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _Loader(_BaseLoader):
    """CSafeLoader whose mappings are :class:`LineDict` and whose aliases are counted."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.alias_hits = 0

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects and isinstance(node, yaml.CollectionNode):
            self.alias_hits += 1
        return super().construct_object(node, deep=deep)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    key_lines = data.key_lines
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key",
                key_node.start_mark) from None
        data[key] = loader.construct_object(value_node, deep=False)
        key_lines[key] = key_node.start_mark.line + 1


def _construct_timestamp_as_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    # Kubernetes treats these as strings; datetime objects would break JSON output.
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_str)


_END = object()


def shape_problem(doc: Any, max_nodes: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``doc`` is unsafe to walk (a cycle, too many nodes through aliases, too deep), or ``None``.

    Iterative, and each shared object is counted once, so it is linear in the document's own size.
    """
    if not isinstance(doc, (dict, list)):
        return None

    def children(obj: Any) -> Iterator[Any]:
        return iter(obj.values() if isinstance(obj, dict) else obj)

    memo: dict[int, int] = {}
    on_path = {id(doc)}
    stack: list[tuple[Any, Iterator[Any]]] = [(doc, children(doc))]
    totals = [1]
    while stack:
        obj, it = stack[-1]
        child = next(it, _END)
        if child is _END:
            stack.pop()
            on_path.discard(id(obj))
            total = totals.pop()
            memo[id(obj)] = total
            if totals:
                totals[-1] += total
            if total > max_nodes:
                return f"expands to more than {max_nodes:,} nodes through aliases (YAML bomb?)"
            continue
        if not isinstance(child, (dict, list)):
            totals[-1] += 1
            continue
        cid = id(child)
        if cid in on_path:
            return "refers to itself through an alias"
        if cid in memo:
            totals[-1] += memo[cid]
            if totals[-1] > max_nodes:
                return f"expands to more than {max_nodes:,} nodes through aliases (YAML bomb?)"
            continue
        if len(stack) >= max_depth:
            return f"is nested deeper than {max_depth} levels"
        on_path.add(cid)
        stack.append((child, children(child)))
        totals.append(1)
    return None


def may_be_deep(text: str) -> bool:
    """A cheap test that lets the full shape walk skip ordinary files."""
    return text.count("[") + text.count("{") >= MAX_DEPTH or _DEEP_HINT.search(text) is not None


def load_documents(text: str) -> Iterator[tuple[Any, int]]:
    """Yield (document, first line) for each YAML document; raise ``yaml.YAMLError`` on bad input.

    Documents already yielded stay valid when a later one fails, so callers keep partial results.
    """
    loader = _Loader(text)
    deep = may_be_deep(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            loader.alias_hits = 0
            doc = loader.construct_document(node)
            if loader.alias_hits or deep:
                problem = shape_problem(doc)
                if problem is not None:
                    raise AliasBomb(f"the document at line {line} {problem}", line)
            yield doc, line
    finally:
        loader.dispose()


def error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return getattr(exc, "line", None)
    return int(mark.line) + 1


def error_message(exc: yaml.YAMLError, text: str | None = None) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        msg = f"{context}, {problem}" if context else str(problem)
        if "\t" in msg or "found character '\\t'" in msg or _tab_at(exc, text):
            msg += " (a tab used for indentation?)"
        return f"invalid YAML: {msg}"
    first = str(exc).strip().splitlines()
    return f"invalid YAML: {first[0] if first else type(exc).__name__}"


def _tab_at(exc: yaml.YAMLError, text: str | None) -> bool:
    """libyaml does not name the character it stopped at; look at the line's indentation instead."""
    line = error_line(exc)
    if text is None or line is None:
        return False
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return False
    row = lines[line - 1]
    return "\t" in row[: len(row) - len(row.lstrip(" \t"))]
