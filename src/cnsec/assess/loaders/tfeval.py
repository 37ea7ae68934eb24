"""Evaluation of Terraform expressions that the checks need to be right: variables, locals, iterators.

A check reads ``endpoint_public_access = var.public`` as unknown and stays silent; once the module's
variable default (or the calling ``module`` block) says ``true`` it must see ``True``. This module
evaluates the expressions that python-hcl2 hands over as ``"${…}"`` strings, as far as their inputs
are known: literals, ``var.*`` (bound from defaults, ``*.tfvars`` or the caller), ``local.*``,
``each.*``/``count.index`` and the iterators of ``dynamic`` blocks, the operators, conditionals and a
few pure functions. Everything else (attributes of resources and data sources, ``path.*``, functions
we do not evaluate, for-expressions) is :class:`Unknown`, and an unknown value is handed to the
checks as the very ``"${…}"`` string python-hcl2 gave, so it stays distinguishable from an absent one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cnsec.assess.loaders import hcl as fast_hcl

#: References whose value may be known: without one, an expression keeps python-hcl2's string.
_INPUTS = re.compile(r"(?<![\w.])(?:var|local|each|count)\.|(?<![\w.])[A-Za-z_][\w-]*\.(?:key|value)\b"
                     r"|[\[{]\s*for\s")
_MAX_VALUE = 10_000
#: For-expression iterations one module instance may evaluate (nested loops multiply): past it, unknown.
MAX_FOR_WORK = 20_000
#: Locals defined through other locals are followed this deep (each level costs a few stack frames).
MAX_LOCAL_CHAIN = 32  # items in one evaluated collection: a hostile range() or repeat stays bounded


class Unknown:
    """A value Terraform knows only at plan or apply time (or one we do not evaluate)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"


_BOUND = "\0bound"  # iterator entry of a name a for-expression binds (no HCL key can be this)


class Scope:
    """What names mean inside one module instance: its variables and locals, plus iterators."""

    __slots__ = ("_busy", "_locals", "_values", "_work", "iters", "variables")

    def __init__(self, variables: dict[str, Any], local_exprs: dict[str, Any],
                 iters: dict[str, dict[str, Any]] | None = None) -> None:
        self.variables = variables
        self._locals = local_exprs
        self._values: dict[str, Any] = {}
        self._busy: set[str] = set()
        #: for-expression iterations left to this module instance (nested loops over big lists stop)
        self._work = [MAX_FOR_WORK]
        self.iters: dict[str, dict[str, Any]] = iters or {}

    def with_iter(self, name: str, key: Any, value: Any) -> Scope:
        """The same module instance with one more iterator (``each``, ``count``, a dynamic block's)."""
        child = Scope.__new__(Scope)
        child.variables = self.variables
        child._locals = self._locals
        child._values = self._values  # locals cannot see iterators: the cache is shared
        child._busy = self._busy
        child._work = self._work
        child.iters = {**self.iters, name: {"key": key, "value": value, "index": key}}
        return child

    def with_names(self, bound: dict[str, Any]) -> Scope:
        """The same module instance with a for-expression's names (``k``, ``v``) bound to values."""
        child = self.with_iter("", None, None)
        child.iters = {**self.iters, **{name: {_BOUND: value} for name, value in bound.items()}}
        return child

    def local(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name not in self._locals or name in self._busy or len(self._busy) >= MAX_LOCAL_CHAIN:
            return Unknown(f"local.{name}")  # undeclared, a cycle, or a chain too long to follow
        self._busy.add(name)
        outer = self.iters
        self.iters = {}  # a local sees no iterator
        try:
            value = evaluate(self._locals[name], self)
        finally:
            self.iters = outer
            self._busy.discard(name)
        self._values[name] = value
        return value


def is_known(value: Any) -> bool:
    if isinstance(value, Unknown):
        return False
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    return True


def materialize(value: Any) -> Any:
    """Unknown parts back to ``"${…}"`` strings, which is how the checks recognise them."""
    if isinstance(value, Unknown):
        return f"${{{value.text}}}"
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value


def clean_string(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"' else raw


def evaluate(raw: Any, scope: Scope) -> Any:
    """python-hcl2's value → a plain value, known parts evaluated, unknown ones as :class:`Unknown`.

    Block lists keep their ``__is_block__`` markers out; ``dynamic`` blocks are left to the caller
    (:func:`expand_body`) because expanding them needs to know which of a body's keys are blocks.
    """
    if isinstance(raw, str):
        if "${" not in raw or raw.startswith('"<<') or _INPUTS.search(raw) is None:
            return clean_string(raw)
        node = _node(raw)
        if node is None:
            return Unknown(raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw)
        return _eval(node, scope)
    if isinstance(raw, list):
        return [evaluate(v, scope) for v in raw]
    if isinstance(raw, dict):
        return {(clean_string(k) if isinstance(k, str) else k): evaluate(v, scope) for k, v in raw.items()
                if k not in ("__is_block__", "__start_line__", "__end_line__", "__comments__")}
    return raw


def _node(raw: str) -> fast_hcl.Node | None:
    """The expression behind one of python-hcl2's strings (``${expr}`` or a quoted template)."""
    if raw.startswith("${") and raw.endswith("}"):
        source, string = raw[2:-1], False
    elif raw.startswith('"') and raw.endswith('"'):
        source, string = raw, True
    else:
        return None
    parser = fast_hcl._Parser(source + "\n")
    try:
        node = parser.string() if string else parser.expression()
        parser.skip_nls()
    except (fast_hcl.Unsupported, IndexError, ValueError, RecursionError):
        return None
    return node if parser.pos >= len(parser.text) else None


# -- expressions ----------------------------------------------------------------------------------

_T = fast_hcl
_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, ">": 4, "<=": 4, ">=": 4,
               "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}


def _text(node: fast_hcl.Node) -> str:
    try:
        return str(fast_hcl._ser(node, True))
    except (KeyError, IndexError, TypeError):
        return "?"


def _eval(node: fast_hcl.Node, scope: Scope) -> Any:
    tag = node[0]
    if tag == _T._INT:
        return int(node[1])
    if tag == _T._FLOAT:
        return float(node[1])
    if tag == _T._LIT:
        return fast_hcl._LITERALS[node[1]]
    if tag == _T._STR:
        out = []
        for part in node[1]:
            if isinstance(part, str):
                out.append(part)
                continue
            value = _eval(part, scope)
            if isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, (str, int, float)):
                out.append(str(value))
            else:
                return Unknown(_text(node))
        return "".join(out)
    if tag == _T._TUPLE:
        return [_eval(e, scope) for e in node[1]]
    if tag == _T._OBJECT:
        obj: dict[str, Any] = {}
        for k, v in node[1]:
            key = k[1] if k[0] == _T._IDENT else _eval(k, scope)
            if not isinstance(key, str):
                return Unknown(_text(node))
            obj[key] = _eval(v, scope)
        return obj
    if tag == _T._PAREN:
        return _eval(node[1], scope)
    if tag == _T._POSTFIX:
        return _postfix(node, scope)
    if tag == _T._UNARY:
        operand = _eval(node[2], scope)
        if node[1] == "!" and isinstance(operand, bool):
            return not operand
        if node[1] == "-" and type(operand) in (int, float):
            return -operand
        return Unknown(_text(node))
    if tag == _T._BINARY:
        return _binary(node, scope)
    if tag == _T._COND:
        cond = _eval(node[1], scope)
        if isinstance(cond, bool):
            return _eval(node[2] if cond else node[3], scope)
        return Unknown(_text(node))
    if tag == _T._CALL:
        return _call(node, scope)
    if tag == _T._FOR:
        return _for(node, scope)
    if tag == _T._IDENT and _BOUND in scope.iters.get(node[1], {}):
        return scope.iters[node[1]][_BOUND]
    return Unknown(_text(node))  # other bare names, heredocs


def _for(node: fast_hcl.Node, scope: Scope) -> Any:
    """``[for k, v in coll : value if cond]`` and ``{for ... : key => value... if cond}`` over a known
    list or map; anything unknown on the way makes the whole result unknown."""
    _, closing, names, coll, key_node, value_node, ellipsis, cond = node
    items = _eval(coll, scope)
    if isinstance(items, list):
        pairs: list[tuple[Any, Any]] = list(enumerate(items))
    elif isinstance(items, dict):
        pairs = list(items.items())
    else:
        return Unknown(_text(node))
    if _bounded(pairs) is None or len(pairs) > scope._work[0]:
        return Unknown(_text(node))
    scope._work[0] -= len(pairs)
    out_list: list[Any] = []
    out_map: dict[str, Any] = {}
    for k, v in pairs:
        inner = scope.with_names({names[0]: v} if len(names) == 1 else {names[0]: k, names[1]: v})
        if cond is not None:
            keep = _eval(cond, inner)
            if not isinstance(keep, bool):
                return Unknown(_text(node))
            if not keep:
                continue
        value = _eval(value_node, inner)
        if closing == "]":
            out_list.append(value)
            continue
        key = _eval(key_node, inner)
        if isinstance(key, bool) or not isinstance(key, (str, int, float)):
            return Unknown(_text(node))
        key = str(key)
        if ellipsis:
            out_map.setdefault(key, []).append(value)
        elif key in out_map:
            return Unknown(_text(node))  # Terraform rejects a duplicate key without "..."
        else:
            out_map[key] = value
    return out_list if closing == "]" else out_map


def _postfix(node: fast_hcl.Node, scope: Scope) -> Any:
    base, suffixes = node[1], node[2]
    bound = base[0] == _T._IDENT and _BOUND in scope.iters.get(base[1], {})
    if base[0] != _T._IDENT or not suffixes or not (bound or isinstance(suffixes[0], str)):
        return Unknown(_text(node))
    root, first = base[1], suffixes[0][1:] if isinstance(suffixes[0], str) else ""
    value: Any
    if bound:  # a for-expression's name: every suffix steps into it
        value = scope.iters[root][_BOUND]
        suffixes = [None, *suffixes]
    elif root == "var":
        value = scope.variables.get(first, Unknown(f"var.{first}"))
    elif root == "local":
        value = scope.local(first)
    elif root in scope.iters and first in ("key", "value", "index"):
        if (root == "count") != (first == "index"):
            return Unknown(_text(node))
        value = scope.iters[root][first]
    else:
        return Unknown(_text(node))  # resources, data sources, modules, path.*, terraform.*
    for suffix in suffixes[1:]:
        if isinstance(value, Unknown):
            return Unknown(_text(node))
        if isinstance(suffix, str):
            if suffix in (".*", "[*]"):
                return Unknown(_text(node))
            step: Any = suffix[1:]
            if step.isdigit():
                step = int(step)
        else:
            step = _eval(suffix, scope)
        in_map = isinstance(value, dict) and isinstance(step, str) and step in value
        in_list = isinstance(value, list) and type(step) is int and 0 <= step < len(value)
        if not (in_map or in_list):
            return Unknown(_text(node))
        value = value[step]
    return Unknown(_text(node)) if isinstance(value, Unknown) else value


def _binary(node: fast_hcl.Node, scope: Scope) -> Any:
    """A flat chain ``a op b op c`` (how the parser keeps it) with HCL's operator precedence."""
    values: list[Any] = [_eval(node[1], scope)]
    ops: list[str] = []

    def reduce() -> None:
        op = ops.pop()
        right = values.pop()
        values.append(_apply(op, values.pop(), right))

    for op, operand in node[2]:
        while ops and _PRECEDENCE[ops[-1]] >= _PRECEDENCE[op]:
            reduce()
        ops.append(op)
        values.append(_eval(operand, scope))
    while ops:
        reduce()
    result = values[0]
    return Unknown(_text(node)) if isinstance(result, Unknown) else result


def _number(v: Any) -> bool:
    return type(v) in (int, float)


def _apply(op: str, a: Any, b: Any) -> Any:
    unknown = Unknown("?")
    if op in ("&&", "||"):
        if isinstance(a, bool) and isinstance(b, bool):
            return (a and b) if op == "&&" else (a or b)
        # false && x is false and true || x is true, whatever x is
        if op == "&&" and (a is False or b is False):
            return False
        if op == "||" and (a is True or b is True):
            return True
        return unknown
    if not is_known(a) or not is_known(b):
        return unknown
    if op in ("==", "!="):
        same = (type(a) is type(b) and a == b) or (_number(a) and _number(b) and a == b)
        return same if op == "==" else not same
    if not (_number(a) and _number(b)):
        return unknown
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op in ("/", "%") and b == 0:
        return unknown
    result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
              "/": lambda: a / b, "%": lambda: a % b}[op]()
    return int(result) if isinstance(result, float) and result.is_integer() and op != "/" else result


def _call(node: fast_hcl.Node, scope: Scope) -> Any:
    name, args, ellipsis = node[1], node[2], node[3]
    fn = _FUNCTIONS.get(name)
    if fn is None or ellipsis:
        return Unknown(_text(node))
    values = [_eval(a, scope) for a in args]
    try:
        result = fn(values)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return Unknown(_text(node))
    # None is "cannot tell" from every function but these two, whose value may be null
    if (result is None and name not in ("lookup", "tobool")) or isinstance(result, Unknown):
        return Unknown(_text(node))
    return result


def _known_args(fn: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    def wrapped(args: list[Any]) -> Any:
        return fn(args) if all(is_known(a) for a in args) else Unknown("?")
    return wrapped


def _length(a: list[Any]) -> Any:
    [v] = a
    if isinstance(v, (list, dict)):
        return len(v)  # the number of items is known even when some items are not
    return len(v) if isinstance(v, str) else None


def _lookup(a: list[Any]) -> Any:
    m, k = a[0], a[1]
    if not isinstance(m, dict) or isinstance(k, Unknown) or not is_known(m):
        return Unknown("lookup")
    if k in m:
        return m[k]
    return a[2] if len(a) > 2 else Unknown("lookup")


def _coalesce(a: list[Any]) -> Any:
    for v in a:
        if isinstance(v, Unknown):
            return None
        if v is not None and v != "":
            return v
    return None


def _tobool(a: list[Any]) -> Any:
    [v] = a
    if isinstance(v, bool) or v is None:
        return v
    return {"true": True, "false": False}.get(v, Unknown("tobool")) if isinstance(v, str) else Unknown("tobool")


def _bounded(items: list[Any]) -> list[Any] | None:
    return items if len(items) <= _MAX_VALUE else None


def _toset(a: list[Any]) -> Any:
    """A set as a list: strings (and numbers) in Terraform's order; objects only when there is at most one
    (Terraform orders a set of objects by hash, an order cnsec cannot reproduce)."""
    if len(a) != 1:
        return None
    [v] = a
    if not isinstance(v, list) or not is_known(v):
        return None
    if all(isinstance(x, str) for x in v):
        return sorted(dict.fromkeys(v))
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return sorted(dict.fromkeys(v))
    unique = [x for i, x in enumerate(v) if x not in v[:i]] if len(v) <= 1000 else v
    return unique if len(unique) <= 1 else None


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in items:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "length": _length,
    "lookup": _lookup,
    "coalesce": _coalesce,
    "tobool": _known_args(_tobool),
    "tostring": _known_args(lambda a: a[0] if isinstance(a[0], str) else (
        str(a[0]).lower() if isinstance(a[0], bool) else str(a[0]) if _number(a[0]) else None)),
    "tonumber": _known_args(lambda a: a[0] if _number(a[0]) else (
        int(a[0]) if isinstance(a[0], str) and a[0].strip().lstrip("-").isdigit() else None)),
    "tolist": lambda a: a[0] if isinstance(a[0], list) else None,
    "toset": _toset,
    "zipmap": _known_args(lambda a: dict(zip(a[0], a[1], strict=True))
                          if isinstance(a[0], list) and isinstance(a[1], list) and len(a[0]) == len(a[1])
                          and all(isinstance(k, str) for k in a[0]) else None),
    "flatten": _known_args(lambda a: _bounded(_flatten(a[0])) if isinstance(a[0], list) else None),
    "distinct": _known_args(lambda a: [v for i, v in enumerate(a[0]) if v not in a[0][:i]]
                            if isinstance(a[0], list) and len(a[0]) <= 1000 else None),
    "compact": _known_args(lambda a: [v for v in a[0] if v not in (None, "")] if isinstance(a[0], list) else None),
    "join": _known_args(lambda a: a[0].join(a[1]) if isinstance(a[0], str) and isinstance(a[1], list)
                        and all(isinstance(v, str) for v in a[1]) else None),
    "split": _known_args(lambda a: _bounded(a[1].split(a[0])) if isinstance(a[0], str) and a[0]
                         and isinstance(a[1], str) else None),
    "trimspace": _known_args(lambda a: a[0].strip() if isinstance(a[0], str) else None),
    "tomap": lambda a: a[0] if isinstance(a[0], dict) else None,
    "concat": lambda a: _bounded([x for v in a for x in v]) if all(isinstance(v, list) for v in a) else None,
    "merge": lambda a: {k: v for m in a for k, v in m.items()} if all(isinstance(m, dict) for m in a) else None,
    "keys": lambda a: sorted(a[0]) if isinstance(a[0], dict) else None,
    "values": lambda a: [a[0][k] for k in sorted(a[0])] if isinstance(a[0], dict) else None,
    "contains": _known_args(lambda a: a[1] in a[0] if isinstance(a[0], list) else None),
    "lower": _known_args(lambda a: a[0].lower() if isinstance(a[0], str) else None),
    "upper": _known_args(lambda a: a[0].upper() if isinstance(a[0], str) else None),
}


def with_type_defaults(type_raw: Any, value: Any) -> Any:
    """``value`` converted by a variable's ``type`` as far as checks care: the attributes of an
    ``object({...})`` type that are ``optional(T, default)`` get their default when absent or null
    (and plain ``optional(T)`` ones null), through ``list``/``set``/``map`` of objects too."""
    node = _node(type_raw) if isinstance(type_raw, str) and "(" in type_raw else None
    return value if node is None else _fill(node, value, 0)


def _fill(t: fast_hcl.Node, value: Any, depth: int) -> Any:
    if t[0] != _T._CALL or not t[2] or isinstance(value, Unknown) or depth > fast_hcl.MAX_DEPTH:
        return value
    name, args = t[1], t[2]
    if name in ("list", "set") and isinstance(value, list):
        return [_fill(args[0], v, depth + 1) for v in value]
    if name == "map" and isinstance(value, dict):
        return {k: _fill(args[0], v, depth + 1) for k, v in value.items()}
    if name != "object" or args[0][0] != _T._OBJECT or not isinstance(value, dict):
        return value
    out = dict(value)
    empty = Scope({}, {})
    for k, attr_type in args[0][1]:
        if k[0] != _T._IDENT:
            continue
        key = k[1]
        if attr_type[0] == _T._CALL and attr_type[1] == "optional" and attr_type[2]:
            if out.get(key) is None:
                out[key] = _eval(attr_type[2][1], empty) if len(attr_type[2]) > 1 else None
            attr_type = attr_type[2][0]
        if key in out:
            out[key] = _fill(attr_type, out[key], depth + 1)
    return out
