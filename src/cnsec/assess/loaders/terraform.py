"""Terraform HCL → resources with their attributes and lines (python-hcl2's values).

python-hcl2 does not give line numbers, so block and attribute lines come from a light scan of the
text; values are python-hcl2's, from the fast parser in ``hcl.py`` that gives its exact output for
the HCL it knows, and from python-hcl2 itself for the rest (and for invalid HCL).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cnsec.assess.loaders import hcl as fast_hcl
from cnsec.assess.loaders import tfeval as tevl
from cnsec.model.finding import InputProblem

_BLOCK = re.compile(
    r'^[ \t]*(resource|data)[ \t]+"?([A-Za-z0-9_.-]{1,200})"?[ \t]+"?([A-Za-z0-9_.-]{1,200})"?[ \t]*\{',
    re.MULTILINE)
_ATTR = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_-]{0,100})[ \t]*(=|\{)", re.MULTILINE)


@dataclass(slots=True)
class TfResource:
    type: str
    name: str
    attrs: dict[str, Any]
    file: str
    line: int
    end_line: int
    block: str = "resource"  # or data
    attr_lines: dict[str, int] = field(default_factory=dict)
    key: str = ""
    #: The module instance it belongs to (``module.eks``, ``module.a.module.b[0]``); "" for the root.
    module: str = ""
    #: Its instance key from ``count``/``for_each`` (``[0]``, ``["blue"]``); "" for a single instance or
    #: one whose instances are unknown.
    index: str = ""
    #: The ``module`` calls that led here, (file, line) outermost first.
    via: tuple[tuple[str, int], ...] = ()
    #: Nested block names made by ``dynamic`` blocks whose number is unknown: such a block is present
    #: once with unknown content, and may be absent or repeated in reality.
    unknown_blocks: frozenset[str] = frozenset()

    @property
    def address(self) -> str:
        """Terraform's address: ``module.eks.aws_eks_cluster.this``, ``aws_instance.web[0]``."""
        prefix = "data." if self.block == "data" else ""
        module = f"{self.module}." if self.module else ""
        return f"{module}{prefix}{self.type}.{self.name}{self.index}"

    @property
    def provider(self) -> str:
        return self.type.split("_", 1)[0]

    def get(self, *path: str | int) -> Any:
        node: Any = self.attrs
        for step in path:
            if isinstance(node, list) and isinstance(step, str):
                node = node[0] if node and isinstance(node[0], dict) else None
            if isinstance(step, int):
                if not isinstance(node, list) or step >= len(node):
                    return None
                node = node[step]
            elif isinstance(node, dict):
                node = node.get(step)
            else:
                return None
        return node

    def blocks(self, name: str) -> list[dict[str, Any]]:
        """Nested blocks of that name (hcl2 gives a list of dicts; a map attribute a dict)."""
        v = self.attrs.get(name)
        if isinstance(v, list):
            return [b for b in v if isinstance(b, dict)]
        if isinstance(v, dict):
            return [v]
        return []

    def line_of(self, attr: str) -> int:
        return self.attr_lines.get(attr, self.line)


def _clean(value: Any) -> Any:
    """hcl2 keeps quotes on strings and adds ``__is_block__``; give plain Python values."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {(_clean(k) if isinstance(k, str) else k): _clean(v) for k, v in value.items()
                if k not in ("__is_block__", "__start_line__", "__end_line__", "__comments__")}
    return value


def _block_lines(text: str) -> list[tuple[str, str, str, int, int]]:
    """(block, type, name, start line, end line) found by brace matching outside strings."""
    out = []
    for m in _BLOCK.finditer(text):
        start = text.count("\n", 0, m.start()) + 1
        brace = m.end() - 1
        if brace < 0:
            continue
        depth = 0
        pos = brace
        in_str = False
        length = len(text)
        while pos < length:
            ch = text[pos]
            if in_str:
                if ch == "\\":
                    pos += 1
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "#" or (ch == "/" and text.startswith("//", pos)):
                nl = text.find("\n", pos)
                pos = length if nl < 0 else nl
                continue
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            pos += 1
        end = text.count("\n", 0, pos) + 1
        out.append((m.group(1), m.group(2), m.group(3), start, end))
    return out


_TOKEN_WORDS = {"$END": "end of file", "RBRACE": "'}'", "LBRACE": "'{'", "DBLQUOTE": "'\"'",
                "STRING_CHARS": "text", "NAME": "name", "EQ": "'='", "NL_OR_COMMENT": "line end"}


def _hcl_error(exc: Exception) -> str:
    """The parser's complaint without the text it choked on: that text may be a password or a key."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    token = getattr(exc, "token", None)
    column = getattr(exc, "column", None)
    where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
    if token is not None and getattr(token, "type", None):
        return f"unexpected {_TOKEN_WORDS.get(token.type, token.type)}{where}"
    char = getattr(exc, "char", None)
    if isinstance(char, str) and len(char) == 1:
        return f"unexpected character {char!r}{where}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"(['\"]).{4,}?\1", r"\1…\1", first)[:200]


# -- evaluation: a file in its module, local modules followed -------------------------------------

#: Nested local modules followed at most this deep (Terraform has no limit; a config this deep is odd).
MAX_MODULE_DEPTH = 16
#: Resources one file may expand to through modules, ``count`` and ``for_each``: keeps a fan-out of
#: modules calling modules (each several times) from growing without bound; the rest is reported.
MAX_EXPANDED = 20_000
#: A ``count``/``for_each`` with more instances than this is assessed once, as one representative
#: instance without an index (the instances differ only in ``count.index``/``each``).
MAX_INSTANCES = 64
_DYNAMIC_LABEL = re.compile(r'^[ \t]*dynamic[ \t]+"?([A-Za-z_][A-Za-z0-9_-]{0,100})"?[ \t]*\{')
_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
_DOC_CACHE_FILES = 512
#: Data sources that compute a document from their own arguments (nothing is read from a cloud):
#: their arguments are configuration written here, so the policy checks read them.
DOCUMENT_DATA_SOURCES = frozenset({"aws_iam_policy_document", "google_iam_policy"})


def _parse_doc(text: str) -> tuple[dict[str, Any] | None, Exception | None]:
    """python-hcl2's dict for the text (the fast parser where it can), or the exception."""
    try:
        return fast_hcl.loads(text), None
    except fast_hcl.Unsupported:
        # Outside the fast parser's subset, or invalid: python-hcl2 decides (and words the error).
        import hcl2

        try:
            from hcl2.utils import SerializationOptions

            return hcl2.loads(text, serialization_options=SerializationOptions(with_comments=False)), None
        except Exception as exc:  # lark raises many types; all mean "not valid HCL"
            return None, exc


class _File:
    """One parsed ``.tf`` file; its block index and lines are worked out when a resource needs them."""

    __slots__ = ("_index", "_lines", "doc", "file", "text")

    def __init__(self, file: str, text: str, doc: dict[str, Any]) -> None:
        self.file = file
        self.text = text
        self.doc = doc
        self._index: dict[tuple[str, str, str], tuple[int, int]] | None = None
        self._lines: list[str] | None = None

    def resources(self) -> list[tuple[str, str, str, dict[str, Any], int, int, dict[str, int]]]:
        """(block, type, name, body, first line, last line, attribute lines) of each resource.

        ``data`` blocks read what exists elsewhere; they are no resources of this configuration and
        are left out, except the :data:`DOCUMENT_DATA_SOURCES` that only render their arguments.
        """
        if self._index is None:
            self._index = {(b, t, n): (s, e) for b, t, n, s, e in _block_lines(self.text)}
            self._lines = self.text.splitlines()
        lines = self._lines or []
        out = []
        for block in ("resource", "data"):
            for entry in self.doc.get(block, []) or []:
                if not isinstance(entry, dict):
                    continue
                for rtype, named in entry.items():
                    rtype = _clean(rtype)
                    if not isinstance(named, dict) or (block == "data" and rtype not in DOCUMENT_DATA_SOURCES):
                        continue
                    for rname, body in named.items():
                        rname = _clean(rname)
                        start, end = self._index.get((block, rtype, rname), (1, len(lines)))
                        attr_lines: dict[str, int] = {}
                        for ln in range(start, min(end, len(lines))):
                            am = _ATTR.match(lines[ln]) or _DYNAMIC_LABEL.match(lines[ln])
                            if am and am.group(1) not in attr_lines:
                                attr_lines[am.group(1)] = ln + 1
                        out.append((block, rtype, rname, body if isinstance(body, dict) else {}, start, end,
                                    attr_lines))
        return out

    def blocks(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(label, body) of each ``variable``/``module`` block; ``locals`` bodies with an empty label."""
        out: list[tuple[str, dict[str, Any]]] = []
        for entry in self.doc.get(kind, []) or []:
            if not isinstance(entry, dict):
                continue
            if kind == "locals":
                out.append(("", entry))
                continue
            for label, body in entry.items():
                if isinstance(body, dict):
                    out.append((_clean(label), body))
        return out

    def line_of_block(self, kind: str, label: str) -> int:
        m = re.search(rf'^[ \t]*{kind}[ \t]+"?{re.escape(label)}"?[ \t]*\{{', self.text, re.MULTILINE)
        return self.text.count("\n", 0, m.start()) + 1 if m else 1


_DOCS: dict[str, _File] = {}  # path → parsed file, in insertion order (evicted oldest first)


def _remember(f: _File) -> None:
    _DOCS.pop(f.file, None)
    _DOCS[f.file] = f
    while len(_DOCS) > _DOC_CACHE_FILES:
        del _DOCS[next(iter(_DOCS))]


def _read(path: str, display: str) -> _File | None:
    """A sibling or module file, parsed once per process (the inventory parses it too, in order)."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > 20 * 1024 * 1024:
                return None
            text = handle.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # the inventory reports it when it reads the file itself
    cached = _DOCS.get(display)
    if cached is not None and cached.text == text:
        return cached
    doc, _ = _parse_doc(text)
    if doc is None:
        return None
    f = _File(display, text, doc)
    _remember(f)
    return f


def _module_files(directory: str, current: _File | None = None) -> list[_File]:
    """Every ``.tf`` file of a module folder (the current file as it was given, not re-read)."""
    try:
        with os.scandir(directory or ".") as listing:
            names = sorted(e.name for e in listing if e.name.endswith(".tf") and e.is_file())
    except OSError:
        return [current] if current is not None else []
    out = []
    for name in names:
        display = os.path.join(directory, name) if directory else name
        if current is not None and os.path.normpath(display) == os.path.normpath(current.file):
            out.append(current)
            continue
        f = _read(display, display)
        if f is not None:
            out.append(f)
    return out


def _tfvars(directory: str) -> dict[str, Any]:
    """``terraform.tfvars`` then ``*.auto.tfvars`` (lexical order), as Terraform applies them."""
    try:
        with os.scandir(directory or ".") as listing:
            names = sorted(e.name for e in listing if e.name.endswith(".auto.tfvars") and e.is_file())
    except OSError:
        return {}
    values: dict[str, Any] = {}
    for name in ["terraform.tfvars", *names]:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        f = _read(path, path)
        if f is not None:
            values.update({k: v for k, v in f.doc.items() if not isinstance(v, list) or not v
                           or not isinstance(v[0], dict) or "__is_block__" not in v[0]})
    return values


def _scope(files: list[_File], given: dict[str, Any]) -> tevl.Scope:
    """A module instance: its variables from ``given`` (caller or tfvars), else their defaults."""
    empty = tevl.Scope({}, {})
    variables: dict[str, Any] = {}
    for f in files:
        for name, body in f.blocks("variable"):
            if name in given:
                value = given[name]
            elif "default" in body:
                value = tevl.evaluate(body["default"], empty)
            else:
                value = tevl.Unknown(f"var.{name}")
            variables[name] = tevl.with_type_defaults(body.get("type"), value)
    local_exprs: dict[str, Any] = {}
    for f in files:
        for _, body in f.blocks("locals"):
            local_exprs.update({k: v for k, v in body.items() if k != "__is_block__"})
    return tevl.Scope(variables, local_exprs)


def _instances(body: dict[str, Any], scope: tevl.Scope) -> list[tuple[str, tevl.Scope]] | None:
    """(address suffix, scope) of each instance ``count``/``for_each`` makes; None for none at all.

    Unknown (or too many) instances: one representative, without an index, whose ``count.index``
    and ``each.*`` are unknown, so what cannot be known is assessed, never dropped.
    """
    if "count" in body:
        n = tevl.evaluate(body["count"], scope)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_INSTANCES:
            return [("", scope.with_iter("count", tevl.Unknown("count.index"), None))]
        return [(f"[{i}]", scope.with_iter("count", i, None)) for i in range(n)] or None
    if "for_each" in body:
        each = tevl.evaluate(body["for_each"], scope)
        if isinstance(each, list) and tevl.is_known(each) and all(isinstance(x, str) for x in each):
            items: list[tuple[Any, Any]] = [(x, x) for x in dict.fromkeys(each)]
        elif isinstance(each, dict):
            items = list(each.items())
        else:
            items = []
            each = None
        if each is None or len(items) > MAX_INSTANCES:
            return [("", scope.with_iter("each", tevl.Unknown("each.key"), tevl.Unknown("each.value")))]
        return [(f"[{json.dumps(k)}]", scope.with_iter("each", k, v)) for k, v in items] or None
    return [("", scope)]


def _expand(raw: dict[str, Any], scope: tevl.Scope, unknown: set[str]) -> dict[str, Any]:
    """A block body evaluated, ``dynamic`` blocks turned into the blocks they make.

    A ``dynamic`` block whose ``for_each`` is unknown gives one block of unknown content (its label
    recorded in ``unknown``): the block may well exist, so a check must not call it missing.
    """
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("__is_block__", "__start_line__", "__end_line__", "__comments__"):
            continue
        if key == "dynamic" and isinstance(value, list):
            for dyn in value:
                for label, spec in (dyn.items() if isinstance(dyn, dict) else ()):
                    if label == "__is_block__" or not isinstance(spec, dict):
                        continue
                    _dynamic(tevl.clean_string(label), spec, scope, unknown, out)
            continue
        if isinstance(value, list) and value and all(isinstance(b, dict) and "__is_block__" in b for b in value):
            out.setdefault(key, []).extend(_expand(b, scope, unknown) for b in value)
            continue
        out[tevl.clean_string(key)] = tevl.materialize(tevl.evaluate(value, scope))
    return out


def _dynamic(label: str, spec: dict[str, Any], scope: tevl.Scope, unknown: set[str],
             out: dict[str, Any]) -> None:
    content = spec.get("content")
    body = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    iterator = tevl.clean_string(spec.get("iterator", label)) if isinstance(spec.get("iterator", label), str) \
        else label
    each = tevl.evaluate(spec.get("for_each"), scope)
    items: list[tuple[Any, Any]] | None = None
    if isinstance(each, list):
        items = list(enumerate(each))
    elif isinstance(each, dict):
        items = list(each.items())
    blocks = out.setdefault(label, [])
    if items is None or len(items) > MAX_INSTANCES:
        unknown.add(label)
        items = [(tevl.Unknown(f"{iterator}.key"), tevl.Unknown(f"{iterator}.value"))]
    for k, v in items:
        blocks.append(_expand(body, scope.with_iter(iterator, k, v), unknown))
    if not blocks:
        del out[label]


class _Walk:
    """One file's expansion: its resources, then those of the local modules it calls (recursively)."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        #: what is deliberately not assessed (a registry or git module: not input cnsec can read)
        self.skipped: list[InputProblem] = []
        self.budget = MAX_EXPANDED
        self.out: list[TfResource] = []

    def take(self, file: str, line: int) -> bool:
        """One more resource or module instance, if the budget allows (reported once when not)."""
        self.budget -= 1
        if self.budget == -1:
            self.problems.append(InputProblem(file, line, f"more than {MAX_EXPANDED} resources and module "
                                              "instances through modules, count and for_each; the rest is "
                                              "not assessed"))
        return self.budget >= 0

    def resources(self, f: _File, scope: tevl.Scope, module: str, via: tuple[tuple[str, int], ...]) -> None:
        for block, rtype, rname, body, start, end, attr_lines in f.resources():
            instances = _instances(body, scope)
            for suffix, inner in instances or ():
                if not self.take(*(via[0] if via else (f.file, start))):
                    return
                unknown: set[str] = set()
                attrs = _expand({k: v for k, v in body.items() if k not in ("count", "for_each")}, inner,
                                unknown)
                self.out.append(TfResource(
                    type=rtype, name=rname, attrs=attrs, file=f.file, line=start, end_line=end,
                    block=block, attr_lines=attr_lines, module=module, index=suffix, via=via,
                    unknown_blocks=frozenset(unknown)))

    def modules(self, f: _File, scope: tevl.Scope, module: str, via: tuple[tuple[str, int], ...],
                stack: tuple[str, ...]) -> None:
        for name, body in f.blocks("module"):
            line = f.line_of_block("module", name)
            source = tevl.evaluate(body.get("source"), scope)
            if not isinstance(source, str) or not source.startswith(("./", "../")):
                if via:  # reported where that module's own file is read (no repeat per call)
                    continue
                shown = repr(_CREDENTIALS.sub(r"\1…@", source)) if isinstance(source, str) else "an expression"
                self.skipped.append(InputProblem(f.file, line, f'module "{name}": source {shown} is not a '
                                                 "local path; not followed, its resources are not assessed"))
                continue
            directory = os.path.normpath(os.path.join(os.path.dirname(f.file), source))
            real = os.path.realpath(directory)
            if real in stack or len(stack) > MAX_MODULE_DEPTH:
                why = "calls itself" if real in stack else f"is nested over {MAX_MODULE_DEPTH} deep"
                self.problems.append(InputProblem(f.file, line, f'module "{name}" {why}; not followed further'))
                continue
            files = _module_files(directory)
            if not files:
                self.problems.append(InputProblem(f.file, line, f'module "{name}": no .tf files in {source!r}; '
                                                  "not followed"))
                continue
            for suffix, inner in _instances(body, scope) or ():
                if not self.take(*(via[0] if via else (f.file, line))):  # calls alone can fan out too
                    return
                given = {k: tevl.evaluate(v, inner) for k, v in body.items() if k not in _META}
                child = _scope(files, given)
                path = f"{module}.module.{name}{suffix}" if module else f"module.{name}{suffix}"
                self.walk(files, child, path, (*via, (f.file, line)), (*stack, real))
                if self.budget < 0:
                    return

    def walk(self, files: list[_File], scope: tevl.Scope, module: str, via: tuple[tuple[str, int], ...],
             stack: tuple[str, ...]) -> None:
        for f in files:
            self.resources(f, scope, module, via)
        for f in files:
            self.modules(f, scope, module, via, stack)


class TfParsed(NamedTuple):
    resources: list[TfResource]
    problems: list[InputProblem]  # input errors
    skipped: list[InputProblem]  # not assessed on purpose (modules from a registry or git)


def parse_terraform(text: str, file: str) -> TfParsed:
    """The file's resources, evaluated in its module (the ``.tf`` files of its folder, with their
    variable defaults and ``*.tfvars``), followed by the resources of the local modules it calls.

    Each file is its module's root here: the resources of a module folder are also assessed on
    their own (defaults bound), and once more for every call of it, named ``module.<call>.…``.
    """
    current = _DOCS.get(file)
    if current is None or current.text != text:  # not read already as a sibling or a module's file
        doc, exc = _parse_doc(text)
        if doc is None:
            line = getattr(exc, "line", None)
            return TfParsed([], [InputProblem(file, line if isinstance(line, int) and line > 0 else None,
                                              f"invalid HCL: {_hcl_error(exc) if exc is not None else 'unreadable'}")],
                            [])
        current = _File(file, text, doc)
    directory = os.path.dirname(file)
    needs_module = ("var." in text or "local." in text) and os.path.isfile(file)
    if needs_module:
        _remember(current)
        files = _module_files(directory, current)
        scope = _scope(files, _tfvars(directory))
    else:
        scope = _scope([current], {})
    problems: list[InputProblem] = []
    walk = _Walk(problems)
    walk.resources(current, scope, "", ())
    real = os.path.realpath(directory or ".")
    walk.modules(current, scope, "", (), (real,))
    return TfParsed(walk.out, problems, walk.skipped)
