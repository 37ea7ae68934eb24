"""Safe YAML loading that remembers line numbers and refuses YAML bombs.

Built on PyYAML's C parser (``CSafeLoader``) with a constructor that records, for every mapping, its
own line and the line of each key. Only safe tags are constructed, never arbitrary objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
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

    def __reduce__(self) -> tuple[Any, ...]:
        # parsed documents travel between processes: the default path for a dict subclass with slots
        # runs Python code per mapping (copyreg), four times slower than this
        return (_line_dict, (self.line, self.key_lines), None, None, iter(self.items()))


def _line_dict(line: int, key_lines: dict[Any, int]) -> LineDict:
    d = LineDict()
    d.line = line
    d.key_lines = key_lines
    return d


class AliasBomb(yaml.YAMLError):
    """A document that is unsafe to walk: a YAML bomb, a cycle through aliases, or far too deep."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_TAGS: dict[str, str] = {}
_TAG_CACHE_TEXT = 64
_TAG_CACHE_SIZE = 50_000


class _Loader(_BaseLoader):
    """CSafeLoader whose mappings are :class:`LineDict` and whose aliases are counted."""

    def __init__(self, stream: Any, line_offset: int = 0) -> None:
        super().__init__(stream)
        self.alias_hits = 0
        self.line_offset = line_offset  # lines of the whole text before this part of it

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """The implicit tag of a plain scalar depends on its text alone (this loader has no path
        resolvers), and manifests repeat the same keys and values endlessly: remember them."""
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(value) <= _TAG_CACHE_TEXT and len(_TAGS) < _TAG_CACHE_SIZE:
                    _TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers: nothing to track while composing."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track while composing."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects and isinstance(node, yaml.CollectionNode):
            self.alias_hits += 1
        return super().construct_object(node, deep=deep)


def _hashable(key: Any, node: yaml.MappingNode, key_node: yaml.Node) -> Any:
    """``key`` if it can be a mapping key; PyYAML's own error (with the key's line) otherwise."""
    try:
        hash(key)
    except TypeError:
        raise yaml.constructor.ConstructorError(
            "while constructing a mapping", node.start_mark, "found unhashable key",
            key_node.start_mark) from None
    return key


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    base = loader.line_offset + 1
    data.line = node.start_mark.line + base
    yield data
    loader.flatten_mapping(node)
    key_lines = data.key_lines
    for key_node, value_node in node.value:
        key = _hashable(loader.construct_object(key_node, deep=False), node, key_node)
        data[key] = loader.construct_object(value_node, deep=False)
        key_lines[key] = key_node.start_mark.line + base


def _construct_timestamp_as_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    # Kubernetes treats these as strings; datetime objects would break JSON output.
    return str(node.value)


def _construct_scalar_as_str(loader: _Loader, node: yaml.Node) -> Any:
    """A plain ``=`` (YAML 1.1's ``value`` tag) or ``<<`` (``merge``) where it is not a mapping key.

    Both are ordinary strings to Kubernetes, which reads YAML 1.2: real CRDs list ``=`` among the
    operators of an ``enum`` (the Prometheus operator's AlertmanagerConfig). PyYAML has no
    constructor for them and failed the whole file. Anything but a scalar keeps PyYAML's error.
    """
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, f"unexpected {node.tag} on a collection",
                                                node.start_mark)
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_str)
_Loader.add_constructor("tag:yaml.org,2002:value", _construct_scalar_as_str)
_Loader.add_constructor("tag:yaml.org,2002:merge", _construct_scalar_as_str)

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE_OR_VALUE = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_BOOLS = yaml.constructor.SafeConstructor.bool_values


class _FastBuilder:
    """Builds a composed document the way :class:`_Loader` would, with a fraction of the calls.

    PyYAML's constructor is pure Python and generic (a generator per mapping, a state machine for
    deferred children, a constructor lookup per node): about half of all YAML loading time. Plain
    YAML (maps, sequences, the core scalar tags) is built here directly, with the same results:
    :class:`LineDict` with lines, aliases shared (and counted, for the bomb check), merge keys
    flattened, timestamps kept as text. Any other tag goes to the loader's own constructor.
    """

    __slots__ = ("base", "loader", "memo")

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.memo: dict[int, Any] = {}
        self.base = loader.line_offset + 1  # a mark's 0-based line -> the whole text's 1-based line

    def build(self, node: Any) -> Any:
        memo = self.memo
        key = id(node)
        if key in memo:
            if isinstance(node, yaml.CollectionNode):
                self.loader.alias_hits += 1
            return memo[key]
        tag = node.tag
        if tag == _STR:
            value: Any = node.value
            if not isinstance(node, yaml.ScalarNode):
                return self._other(node)
        elif tag == _MAP and isinstance(node, yaml.MappingNode):
            return self._map(node)
        elif tag == _SEQ and isinstance(node, yaml.SequenceNode):
            out: list[Any] = []
            memo[key] = out
            build = self.build
            out.extend([build(child) for child in node.value])
            return out
        elif not isinstance(node, yaml.ScalarNode):
            return self._other(node)
        elif tag == _NULL:
            value = None
        elif tag == _BOOL:
            value = _BOOLS[node.value.lower()]
        elif tag == _INT:
            value = self.loader.construct_yaml_int(node)
        elif tag == _FLOAT:
            value = self.loader.construct_yaml_float(node)
        elif tag == _TIMESTAMP:
            value = str(node.value)
        else:
            return self._other(node)
        memo[key] = value
        return value

    def _map(self, node: yaml.MappingNode) -> LineDict:
        data = LineDict()
        base = self.base
        data.line = node.start_mark.line + base
        self.memo[id(node)] = data
        pairs = node.value
        for key_node, _ in pairs:
            if key_node.tag in _MERGE_OR_VALUE:
                self.loader.flatten_mapping(node)
                pairs = node.value
                break
        key_lines = data.key_lines
        build = self.build
        for key_node, value_node in pairs:
            key = _hashable(build(key_node), node, key_node)
            data[key] = build(value_node)
            key_lines[key] = key_node.start_mark.line + base
        return data

    def _other(self, node: Any) -> Any:
        value = self.loader.construct_object(node, deep=True)
        self.memo[id(node)] = value
        return value


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


_INDENT_RUN = " " * MAX_DEPTH
_DASH_RUN = "- " * (MAX_DEPTH // 4)


def may_be_deep(text: str) -> bool:
    """A cheap test that lets the full shape walk skip ordinary files.

    Substring searches first (fast C scans): without a run of 200 blanks, 50 ``- `` in a row or a
    tab, the multi-line regex (the slow part, once a tenth of all parsing) cannot match.
    """
    if text.count("[") + text.count("{") >= MAX_DEPTH:
        return True
    if _INDENT_RUN not in text and _DASH_RUN not in text and "\t" not in text:
        return False
    return _DEEP_HINT.search(text) is not None


def load_documents(text: str, line_offset: int = 0) -> Iterator[tuple[Any, int]]:
    """Yield (document, first line) for each YAML document; raise ``yaml.YAMLError`` on bad input.

    Documents already yielded stay valid when a later one fails, so callers keep partial results.
    ``line_offset``: ``text`` is a part of a larger text that starts after that many lines; every
    line (of documents, mappings, keys and in :class:`AliasBomb`) is counted in the larger text.
    """
    loader = _Loader(text, line_offset)
    deep = may_be_deep(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 + line_offset if node is not None else 1 + line_offset
            loader.alias_hits = 0
            if deep:  # PyYAML's constructor is iterative: no recursion limit on hostile nesting
                doc = loader.construct_document(node)
            else:
                doc = _FastBuilder(loader).build(node) if node is not None else None
            if loader.alias_hits or deep:
                problem = shape_problem(doc)
                if problem is not None:
                    raise AliasBomb(f"the document at line {line} {problem}", line)
            yield doc, line
    finally:
        loader.dispose()


#: A line that starts a YAML document. It cannot occur inside a document's content (not even in a
#: block or quoted scalar: YAML forbids it there), so the text between two is one document.
_DOC_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class DocumentError:
    """A document that could not be loaded: where (1-based line in the whole text), why, and its text."""

    line: int | None
    message: str
    text: str


_LOAD_ERRORS = (yaml.YAMLError, ValueError, TypeError, RecursionError)


def _document_error(exc: Exception, part: str, line_offset: int, last_line: int | None = None) -> DocumentError:
    """The error of a part that starts after ``line_offset`` lines; its line is at most ``last_line``
    (a document cut short is found out at the line after it, which belongs to the next part)."""
    if isinstance(exc, yaml.YAMLError):
        line = error_line(exc)
        if line is not None and not isinstance(exc, AliasBomb):  # a bomb's line is already whole-text
            line += line_offset
            if last_line is not None:
                line = min(line, last_line)
        return DocumentError(line, error_message(exc, part), part)
    return DocumentError(line_offset + 1, f"invalid YAML: {exc}", part)


def load_each_document(text: str) -> tuple[list[tuple[Any, int]], list[DocumentError]]:
    """Every document of ``text`` that loads, and an error for each one that does not.

    One bad document never costs the others: a parser cannot go on after an error, so when the
    whole text fails, each document (the text between two ``---`` lines) is loaded on its own.
    Linear either way: the second pass reads every part once.
    """
    docs: list[tuple[Any, int]] = []
    try:
        docs.extend(load_documents(text))
        return docs, []
    except _LOAD_ERRORS as exc:
        first = exc
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if starts and starts[0] != 0:
        starts.insert(0, 0)
    if len(starts) <= 1:
        return docs, [_document_error(first, text, 0)]
    docs = []
    errors: list[DocumentError] = []
    offset = 0  # lines before the part
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        part = text[start:end]
        lines = part.count("\n")
        try:
            docs.extend(load_documents(part, offset))
        except _LOAD_ERRORS as exc:
            errors.append(_document_error(exc, part, offset, offset + max(lines, 1)))
        offset += lines
    return docs, errors


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
