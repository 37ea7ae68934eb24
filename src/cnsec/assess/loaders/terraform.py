"""Terraform HCL → resources with their attributes and lines (python-hcl2's values).

python-hcl2 does not give line numbers, so block and attribute lines come from a light scan of the
text; values are python-hcl2's, from the fast parser in ``hcl.py`` that gives its exact output for
the HCL it knows, and from python-hcl2 itself for the rest (and for invalid HCL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnsec.assess.loaders import hcl as fast_hcl
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

    @property
    def address(self) -> str:
        prefix = "data." if self.block == "data" else ""
        return f"{prefix}{self.type}.{self.name}"

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


def parse_terraform_text(text: str, file: str) -> tuple[list[TfResource], list[InputProblem]]:
    try:
        data = fast_hcl.loads(text)
    except fast_hcl.Unsupported:
        # Outside the fast parser's subset, or invalid: python-hcl2 decides (and words the error).
        import hcl2

        try:
            from hcl2.utils import SerializationOptions

            data = hcl2.loads(text, serialization_options=SerializationOptions(with_comments=False))
        except Exception as exc:  # lark raises many types; all mean "not valid HCL"
            line = getattr(exc, "line", None)
            return [], [InputProblem(file, line if isinstance(line, int) and line > 0 else None,
                                     f"invalid HCL: {_hcl_error(exc)}")]
    lines = _block_lines(text)
    text_lines = text.splitlines()
    index = {(b, t, n): (s, e) for b, t, n, s, e in lines}
    resources: list[TfResource] = []
    for block in ("resource", "data"):
        for entry in data.get(block, []) or []:
            if not isinstance(entry, dict):
                continue
            for rtype, named in entry.items():
                rtype = _clean(rtype)
                if not isinstance(named, dict):
                    continue
                for rname, body in named.items():
                    rname = _clean(rname)
                    start, end = index.get((block, rtype, rname), (1, len(text_lines)))
                    attr_lines: dict[str, int] = {}
                    for ln in range(start, min(end, len(text_lines))):
                        am = _ATTR.match(text_lines[ln])
                        if am and am.group(1) not in attr_lines:
                            attr_lines[am.group(1)] = ln + 1
                    resources.append(TfResource(
                        type=rtype, name=rname, attrs=_clean(body) if isinstance(body, dict) else {},
                        file=file, line=start, end_line=end, block=block, attr_lines=attr_lines))
    return resources, []
