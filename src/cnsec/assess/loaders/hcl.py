"""A fast path for the HCL that Terraform files really contain, giving python-hcl2's exact output.

python-hcl2 runs a Lark LALR parser in pure Python and costs about 8 ms a file, most of an
assessment's Terraform time. This module is a small scanner plus recursive descent parser for the
common subset of HCL2 native syntax; :func:`loads` returns the very dict that
``hcl2.loads(text, serialization_options=SerializationOptions(with_comments=False))`` returns
(quoted strings, ``"${...}"`` expressions, blocks as lists of dicts with ``__is_block__``).

It is deliberately strict: whatever it does not handle exactly like python-hcl2 (for-expressions,
template directives, splats of odd shape, keywords used as names, CRLF text, invalid HCL, nesting
deeper than :data:`MAX_DEPTH`, ...) raises :class:`Unsupported` and the caller falls back to
python-hcl2, so error messages and exotic syntax stay exactly as they were. Every scan is linear
in the text (plain ``str.find``/regexes without nested ambiguity), and the depth bound keeps
hostile nesting from reaching Python's recursion limit.
"""

from __future__ import annotations

import re
import sys
from typing import Any

MAX_DEPTH = 64


class Unsupported(Exception):
    """The text is outside the fast path (or invalid): use python-hcl2 instead."""


_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_WS = re.compile(r"[ \t]*")
# python-hcl2's STRING_CHARS, rewritten with alternatives that start with different characters so
# the match never backtracks.
_STRING_CHARS = re.compile(r'(?:[^"\\$%]+|\\.|\$(?!\$?\{)|%(?!%?\{))+')
_ESCAPED = re.compile(r"\$\$\{[^}]*\}|%%\{[^}]*\}")
_HEREDOC_START = re.compile(r"<<(-?)([a-zA-Z][a-zA-Z0-9._-]*)\n")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
_AFTER_NUMBER = re.compile(r"[A-Za-z0-9_.]")

# Lexed as keywords by python-hcl2: fine as attribute names and block labels, not in expressions.
_KEYWORDS = frozenset({"in", "for", "if", "for_each", "else", "endif", "endfor"})
_LITERALS = {"true": True, "false": False, "null": None}
_DIGIT = frozenset("0123456789")
# Operators python-hcl2's post-lexer lets continue an expression on the next line (not "-").
_CONTINUING = frozenset({"==", "!=", "<", ">", "<=", ">=", "*", "/", "%", "&&", "||", "+", "?"})

# Expression nodes are tuples whose first item is one of these tags.
_IDENT, _INT, _FLOAT, _LIT, _STR, _HEREDOC, _TUPLE, _OBJECT = range(8)
_PAREN, _POSTFIX, _CALL, _UNARY, _BINARY, _COND, _FOR = range(8, 15)
_FOR_WORD = re.compile(r"for[ \t]")
_IN_WORD = re.compile(r"in[ \t\n]")
_IF_WORD = re.compile(r"if[ \t\n]")

Node = tuple[Any, ...]


def loads(text: str) -> dict[str, Any]:
    """python-hcl2's dict for ``text``, or :class:`Unsupported` when the fast path cannot tell."""
    if "\r" in text:
        raise Unsupported("carriage return")
    try:
        return _Parser(text + "\n").document()
    except (IndexError, ValueError, RecursionError) as exc:
        raise Unsupported(type(exc).__name__) from exc


def _dollar(value: Any) -> str:
    """python-hcl2's ``to_dollar_string``."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value
    return f"${{{value}}}"


def _key(node: Node, inside: bool) -> Any:
    """An object key the way python-hcl2 serializes it (plain names, quoted strings, ``${expr}``)."""
    tag = node[0]
    if tag in (_IDENT, _LIT):
        return node[1]
    if tag == _STR:
        return _ser(node, inside)
    result = str(_ser(node, True))
    return result if inside else _dollar(result)


def _ser(node: Node, inside: bool) -> Any:
    """Serialize like python-hcl2's rules; ``inside`` is its ``inside_dollar_string`` context."""
    tag = node[0]
    if tag == _IDENT:
        return node[1]
    if tag == _STR:
        return '"' + "".join(p if isinstance(p, str) else _dollar(_ser(p, True)) for p in node[1]) + '"'
    if tag == _INT:
        return int(node[1])
    if tag == _FLOAT:
        raw = node[1]
        if "e" in raw.lower():
            return raw if inside else _dollar(raw)
        return float(raw)
    if tag == _LIT:
        return node[1] if inside else _LITERALS[node[1]]
    if tag == _HEREDOC:
        return node[1]
    if tag == _TUPLE:
        if inside:
            return "[" + ", ".join(str(_ser(e, True)) for e in node[1]) + "]"
        return [_ser(e, False) for e in node[1]]
    if tag == _OBJECT:
        if inside:
            return "{" + ", ".join(f"{_key(k, True)} = {_ser(v, True)}" for k, v in node[1]) + "}"
        out: dict[Any, Any] = {}
        for k, v in node[1]:
            out[_key(k, False)] = _ser(v, False)
        return out
    result: Any
    if tag == _PAREN:
        result = _ser(node[1], inside)
        if isinstance(result, str) and result.startswith("${") and result.endswith("}"):
            result = "${(" + result[2:-1] + ")}"
        else:
            result = f"({result})"
        return result if inside else _dollar(result)
    if tag == _POSTFIX:
        result = f"{_ser(node[1], True)}" + "".join(
            s if isinstance(s, str) else f"[{_ser(s, True)}]" for s in node[2])
    elif tag == _CALL:
        args = ", ".join(str(_ser(a, True)) for a in node[2])
        result = f"{node[1]}({args}{' ...' if node[3] else ''})"
    elif tag == _UNARY:
        operand = _ser(node[2], True)
        if not inside and node[1] == "-" and type(operand) in (int, float):
            return -operand
        result = f"{node[1]}{operand}"
    elif tag == _BINARY:
        result = _ser(node[1], True)
        for op, operand in node[2]:
            result = f"{result} {op} {_ser(operand, True)}"
    elif tag == _FOR:  # (_FOR, closing, names, collection, key or None, value, ellipsis, condition or None)
        _, closing, names, coll, key, value, ellipsis, cond = node
        result = f"for {', '.join(names)} in {_ser(coll, True)} : "
        result += f"{_ser(key, True)} => {_ser(value, True)}" if key is not None else f"{_ser(value, True)}"
        result += "..." if ellipsis else ""
        result += f" if {_ser(cond, True)}" if cond is not None else ""
        result = f"[{result}]" if closing == "]" else f"{{{result}}}"
    else:  # _COND
        result = f"{_ser(node[1], True)} ? {_ser(node[2], True)} : {_ser(node[3], True)}"
    return result if inside else _dollar(result)


def _heredoc_value(token: str, trim: bool) -> str:
    """python-hcl2's HeredocTemplateRule / HeredocTrimTemplateRule serialization of the raw token."""
    if not trim:
        return '"' + token.rstrip("\r\n\t ") + '"'
    # python-hcl2 drops the closing marker line's break with re.sub(r"[ \t]*\Z") then r"\r?\n\Z";
    # rstrip does the first without that regex's quadratic scan over long runs of blanks.
    heredoc = token.rstrip(" \t")
    if heredoc.endswith("\n"):
        heredoc = heredoc[:-2] if heredoc.endswith("\r\n") else heredoc[:-1]
    lines = heredoc.split("\n")
    min_spaces = sys.maxsize
    for line in lines:
        if not line.strip():
            continue
        min_spaces = min(min_spaces, len(line) - len(line.lstrip(" ")))
    if min_spaces == sys.maxsize:
        min_spaces = 0
    return '"' + "\n".join(line[min_spaces:] for line in lines) + '"'


class _Parser:
    __slots__ = ("depth", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    # -- scanning -------------------------------------------------------------------------------

    def ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def at_nl(self) -> bool:
        """At one of python-hcl2's NL_OR_COMMENT tokens (newline, #, // or /* comment)?"""
        c = self.text[self.pos:self.pos + 2]
        return c[:1] in ("\n", "#") or c in ("//", "/*")

    def skip_nls(self) -> int:
        """Skip blanks and NL_OR_COMMENT tokens; how many tokens there were."""
        text = self.text
        count = 0
        while True:
            self.ws()
            c = text[self.pos] if self.pos < len(text) else ""
            if c == "\n":
                self.pos += 1
            elif c == "#" or (c == "/" and text.startswith("//", self.pos)):
                self.pos = text.index("\n", self.pos) + 1
            elif c == "/" and text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise Unsupported("unterminated comment")
                self.pos = end + 2
            else:
                return count
            count += 1

    def expect(self, char: str) -> None:
        self.ws()
        if self.text[self.pos] != char:
            raise Unsupported(f"expected {char!r}")
        self.pos += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsupported("nested too deeply")

    # -- bodies and blocks ----------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return self.body(top=True)

    def body(self, top: bool) -> dict[str, Any]:
        text = self.text
        result: dict[str, Any] = {}
        attribute_names: set[str] = set()
        self.skip_nls()
        while True:
            if top:
                if self.pos >= len(text):
                    return result
            elif text[self.pos] == "}":
                self.pos += 1
                return result
            m = _NAME.match(text, self.pos)
            if m is None:
                raise Unsupported("expected a name")
            name = m.group()
            self.pos = m.end()
            self.ws()
            if text[self.pos] == "=" and text[self.pos + 1] not in "=>":
                self.pos += 1
                value = self.expression()
                attribute_names.add(name)
                result[name] = _ser(value, False)
            else:
                block = self.block()
                if name in attribute_names:
                    raise Unsupported("block after an attribute of the same name")
                result.setdefault(name, []).append(block)
            end = self.pos
            self.ws()
            if self.at_nl():
                self.skip_nls()
            elif not (text[end - 1] == "\n" or (not top and text[self.pos] == "}")):
                raise Unsupported("two items on one line")

    def block(self) -> dict[str, Any]:
        text = self.text
        labels: list[Any] = []
        while True:
            self.ws()
            c = text[self.pos]
            if c == "{":
                break
            if c == '"':
                labels.append(_ser(self.string(), False))
                continue
            m = _NAME.match(text, self.pos)
            if m is not None:
                labels.append(m.group())
                self.pos = m.end()
                continue
            # python-hcl2 turns a line end before "{" into one more label: leave that to it.
            raise Unsupported("bad block header")
        self.pos += 1
        self.enter()
        result: dict[str, Any] = self.body(top=False)
        self.depth -= 1
        result["__is_block__"] = True
        for label in reversed(labels):
            result = {label: result}
        return result

    # -- expressions ----------------------------------------------------------------------------

    def operator(self) -> str | None:
        """The binary operator or ``?`` next, consumed; None (nothing consumed) if there is none."""
        text = self.text
        start = self.pos
        self.ws()
        newlines = 0
        if self.at_nl():
            newlines = self.skip_nls()
        p = self.pos
        if p >= len(text):
            self.pos = start
            return None
        two = text[p:p + 2]
        c = text[p]
        if two in ("==", "!=", "<=", ">=", "&&", "||"):
            op = two
        elif c in "<>+*%?" or (c == "/" and text[p + 1] not in "/*"):
            op = c
        elif c == "-" and newlines == 0:
            if text[p + 1] in _DIGIT:
                raise Unsupported("'-' before a digit")  # python-hcl2 may lex a negative number
            op = c
        else:
            self.pos = start
            return None
        if newlines and (newlines > 1 or op not in _CONTINUING or text[start:p].strip(" \t\n")):
            # python-hcl2 glues one line end to the operator, a comment included in its text
            raise Unsupported("operator after a comment or several line ends")
        if op == "<" and text[p + 1] == "<":
            raise Unsupported("'<<' after an expression")
        self.pos = p + len(op)
        return op

    def expression(self) -> Node:
        self.enter()
        node = self.operand()
        chain: list[tuple[str, Node]] = []
        while True:
            op = self.operator()
            if op is None:
                break
            if op == "?":
                cond = (_BINARY, node, chain) if chain else node
                chain = []
                self.skip_nls()
                if_true = self.expression()
                self.skip_nls()
                if self.text[self.pos] != ":" or self.text[self.pos + 1] == ":":
                    raise Unsupported("expected ':'")
                self.pos += 1
                self.skip_nls()
                node = (_COND, cond, if_true, self.expression())
                break
            self.skip_nls()
            chain.append((op, self.operand()))
        self.depth -= 1
        return (_BINARY, node, chain) if chain else node

    def operand(self) -> Node:
        self.ws()
        text = self.text
        c = text[self.pos]
        if (c == "!" and text[self.pos + 1] != "=") or (c == "-" and text[self.pos + 1] not in _DIGIT):
            self.pos += 1
            self.ws()
            if text[self.pos] == "-":
                raise Unsupported("unary operator before '-'")  # python-hcl2 rejects "- -3"
            return (_UNARY, c, self.term())
        return self.term()

    def term(self) -> Node:
        self.ws()
        text = self.text
        pos = self.pos
        c = text[pos]
        base: Node
        if c == '"':
            base = self.string()
        elif c in _DIGIT or (c == "-" and text[pos + 1] in _DIGIT):
            m = _NUMBER.match(text, pos)
            if m is None or _AFTER_NUMBER.match(text, m.end()):
                raise Unsupported("number")
            self.pos = m.end()
            raw = m.group()
            base = (_FLOAT if m.group(1) or m.group(2) else _INT, raw)
        elif c == "[":
            base = self.tuple()
        elif c == "{":
            base = self.object()
        elif c == "(":
            self.pos += 1
            self.skip_nls()
            inner = self.expression()
            self.skip_nls()
            self.expect(")")
            base = (_PAREN, inner)
        elif c == "<":
            return self.heredoc()
        else:
            m = _NAME.match(text, pos)
            if m is None:
                raise Unsupported("unexpected character")
            name = m.group()
            if name in _KEYWORDS:
                raise Unsupported("keyword in an expression")
            self.pos = m.end()
            self.ws()
            if name in _LITERALS:
                base = (_LIT, name)
            elif text[self.pos] == "(":
                self.pos += 1
                base = self.call(name)
            elif text.startswith("::", self.pos):
                raise Unsupported("provider function")
            else:
                self.pos = m.end()
                base = (_IDENT, name)
        return self.postfix(base)

    def postfix(self, base: Node) -> Node:
        text = self.text
        suffixes: list[Any] = []
        while True:
            start = self.pos
            self.ws()
            p = self.pos
            c = text[p]
            if c == ".":
                if text.startswith("...", p):
                    self.pos = start
                    break
                if text[p + 1] == "*":
                    suffixes.append(".*")
                    self.pos = p + 2
                    continue
                self.pos = p + 1
                self.ws()
                m = _DIGITS.match(text, self.pos)
                if m is not None:
                    if _WORD_CHAR.match(text, m.end()):
                        raise Unsupported("index")
                    suffixes.append("." + str(int(m.group())))
                    self.pos = m.end()
                    continue
                m = _NAME.match(text, self.pos)
                if m is None or m.group() in _KEYWORDS:
                    raise Unsupported("attribute")
                suffixes.append("." + m.group())
                self.pos = m.end()
            elif c == "[":
                if text.startswith("[*]", p):
                    suffixes.append("[*]")
                    self.pos = p + 3
                    continue
                self.pos = p + 1
                self.skip_nls()
                index = self.expression()
                self.skip_nls()
                self.expect("]")
                suffixes.append(index)
            else:
                self.pos = start
                break
        return (_POSTFIX, base, suffixes) if suffixes else base

    def call(self, name: str) -> Node:
        text = self.text
        args: list[Node] = []
        ellipsis = False
        self.skip_nls()
        if text[self.pos] == ")":
            self.pos += 1
            return (_CALL, name, args, ellipsis)
        while True:
            args.append(self.expression())
            self.ws()
            c = text[self.pos]
            if c == ",":
                self.pos += 1
                self.skip_nls()
                if text[self.pos] == ")":
                    self.pos += 1
                    break
                continue
            if text.startswith("...", self.pos):
                self.pos += 3
                ellipsis = True
                self.skip_nls()
                self.expect(")")
                break
            if self.at_nl():
                self.skip_nls()
                c = text[self.pos]
                if c == ",":
                    self.pos += 1
                    self.skip_nls()
                    if text[self.pos] == ")":
                        raise Unsupported("line end before a trailing comma")
                    continue
            if c == ")":
                self.pos += 1
                break
            raise Unsupported("bad argument list")
        return (_CALL, name, args, ellipsis)

    def tuple(self) -> Node:
        text = self.text
        self.pos += 1
        self.enter()
        items: list[Node] = []
        self.skip_nls()
        if _FOR_WORD.match(text, self.pos):
            return self.for_expression("]")
        while text[self.pos] != "]":
            items.append(self.expression())
            self.skip_nls()
            if text[self.pos] == ",":
                self.pos += 1
                self.skip_nls()
            elif text[self.pos] != "]":
                raise Unsupported("bad tuple")
        self.pos += 1
        self.depth -= 1
        return (_TUPLE, items)

    def object(self) -> Node:
        text = self.text
        self.pos += 1
        self.enter()
        elements: list[tuple[Node, Node]] = []
        self.skip_nls()
        if _FOR_WORD.match(text, self.pos):
            return self.for_expression("}")
        while text[self.pos] != "}":
            key = self.expression()
            if key[0] in (_INT, _FLOAT, _HEREDOC):
                raise Unsupported("key")
            self.ws()
            c = text[self.pos]
            if not ((c == "=" and text[self.pos + 1] not in "=>") or (c == ":" and text[self.pos + 1] != ":")):
                raise Unsupported("expected '=' or ':'")
            self.pos += 1
            elements.append((key, self.expression()))
            self.ws()
            if self.at_nl():
                self.skip_nls()
                if text[self.pos] == ",":
                    self.pos += 1
                    self.skip_nls()
            elif text[self.pos] == ",":
                self.pos += 1
                self.skip_nls()
            elif text[self.pos] != "}":
                raise Unsupported("two object elements on one line")
        self.pos += 1
        self.depth -= 1
        return (_OBJECT, elements)

    def for_expression(self, closing: str) -> Node:
        """``[for a, b in coll : value if cond]`` or ``{for k, v in coll : key => value... if cond}``,
        after the opening bracket (whose depth it closes)."""
        text = self.text
        self.pos += 3
        names = []
        while True:
            self.ws()
            m = _NAME.match(text, self.pos)
            if m is None or m.group() in _KEYWORDS:
                raise Unsupported("for: iterator name")
            names.append(m.group())
            self.pos = m.end()
            self.ws()
            if text[self.pos] != ",":
                break
            self.pos += 1
        if len(names) > 2 or not _IN_WORD.match(text, self.pos):
            raise Unsupported("for: expected 'in'")
        self.pos += 2
        coll = self.expression()
        self.ws()
        if text[self.pos] != ":" or text[self.pos + 1] == ":":
            raise Unsupported("for: expected ':'")
        self.pos += 1
        self.skip_nls()
        key: Node | None = None
        value = self.expression()
        if closing == "}":
            self.ws()
            if not text.startswith("=>", self.pos):
                raise Unsupported("for: expected '=>'")
            self.pos += 2
            self.skip_nls()
            key, value = value, self.expression()
        self.ws()
        ellipsis = closing == "}" and text.startswith("...", self.pos)
        if ellipsis:
            self.pos += 3
        self.skip_nls()
        cond: Node | None = None
        if _IF_WORD.match(text, self.pos):
            self.pos += 2
            cond = self.expression()
        self.skip_nls()
        if text[self.pos] != closing:
            raise Unsupported("for: expected the closing bracket")
        self.pos += 1
        self.depth -= 1
        return (_FOR, closing, names, coll, key, value, ellipsis, cond)

    def string(self) -> Node:
        text = self.text
        self.pos += 1
        parts: list[Any] = []
        while True:
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return (_STR, parts)
            m = _STRING_CHARS.match(text, self.pos)
            if m is None:
                m = _ESCAPED.match(text, self.pos)
            if m is not None:
                parts.append(m.group())
                self.pos = m.end()
            elif text.startswith("${", self.pos):
                self.pos += 2
                parts.append(self.expression())
                self.ws()  # a line end here is only valid after some operators: leave it to hcl2
                if text[self.pos] != "}":
                    raise Unsupported("expected '}'")
                self.pos += 1
            else:
                raise Unsupported("template directive or bad escape")

    def heredoc(self) -> Node:
        text = self.text
        m = _HEREDOC_START.match(text, self.pos)
        if m is None:
            raise Unsupported("not a heredoc")
        marker = m.group(2)
        p = m.end()
        while True:
            nl = text.find("\n", p)
            if nl < 0:
                raise Unsupported("unterminated heredoc")
            line = text[p:nl]
            stripped = line.lstrip()
            if stripped == marker:
                if line[:len(line) - len(stripped)].strip(" \t"):
                    raise Unsupported("unusual blank before heredoc marker")
                break
            p = nl + 1
        token = text[self.pos:nl + 1]
        self.pos = nl + 1
        return (_HEREDOC, _heredoc_value(token, bool(m.group(1))))
