"""Safe YAML loading that remembers line numbers and refuses YAML bombs.

Built on PyYAML's C parser (``CSafeLoader``) with a constructor that records, for every mapping, its
own line and the line of each key. Only safe tags are constructed, never arbitrary objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ALIAS_EXPANSION = 1_000_000


class LineDict(dict[str, Any]):
    """A mapping that knows its line and the line of each of its keys (1-based)."""

    __slots__ = ("key_lines", "line")

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.key_lines: dict[Any, int] = {}


class AliasBomb(yaml.YAMLError):
    pass


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


def _expanded_size(obj: Any, memo: dict[int, int], budget: int) -> int:
    """Node count with aliases expanded, computed once per shared object (linear time)."""
    key = id(obj)
    if key in memo:
        return memo[key]
    total = 1
    if isinstance(obj, dict):
        for v in obj.values():
            total += _expanded_size(v, memo, budget)
            if total > budget:
                break
    elif isinstance(obj, list):
        for v in obj:
            total += _expanded_size(v, memo, budget)
            if total > budget:
                break
    memo[key] = total
    return total


def load_documents(text: str) -> Iterator[tuple[Any, int]]:
    """Yield (document, first line) for each YAML document; raise ``yaml.YAMLError`` on bad input.

    Documents already yielded stay valid when a later one fails, so callers keep partial results.
    """
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            loader.alias_hits = 0
            doc = loader.construct_document(node)
            if loader.alias_hits and _expanded_size(doc, {}, MAX_ALIAS_EXPANSION) > MAX_ALIAS_EXPANSION:
                raise AliasBomb(f"document at line {line} expands to more than "
                                f"{MAX_ALIAS_EXPANSION:,} nodes through aliases (YAML bomb?)")
            yield doc, line
    finally:
        loader.dispose()


def error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def error_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        msg = f"{context}, {problem}" if context else str(problem)
        if "\t" in msg or "found character '\\t'" in msg:
            msg += " (a tab used for indentation?)"
        return f"invalid YAML: {msg}"
    return f"invalid YAML: {exc}"
