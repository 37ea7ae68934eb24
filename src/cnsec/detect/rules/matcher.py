"""Compile a pySigma condition tree into plain Python closures, plus the literals each rule needs.

pySigma parses the rule (detection items, modifiers, the condition grammar) and expands it into a tree
of AND/OR/NOT over ``field = value`` leaves. We compile that tree once into closures over the raw event
dict, so evaluation is a few dict look-ups and string operations, no database and no interpretation.

Alongside each compiled node we compute *requirements*: sets of literals of which at least one must be
present in any event the node matches (``eq``: the field has exactly this value; ``sub``: the value
contains this text). The engine indexes rules by them so that an event is only tested against rules
that can match it, and skips the JSON parse of a line that contains none of them.

Sigma matching is case-insensitive unless ``|cased``. Regular expressions run on RE2 (linear time);
only patterns RE2 rejects (look-around, back-references) fall back to a backtracking engine (the
``regex`` package, which can be interrupted), over the first :data:`FALLBACK_RE_MAX_INPUT` characters
of a value and for at most :data:`FALLBACK_TIMEOUT` seconds per value: ``^(?!zzz)(a+)+$`` on 26 ``a``
took 9 s in Python's ``re``. A value that runs out of time counts as not matching and is reported
(:func:`take_timeouts`); a pattern that used up :data:`FALLBACK_TOTAL` seconds of such time is not run
again. Rules that need the fallback say so when loaded (:func:`collect_notes`, ``cnsec rules check``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cnsec.detect.fields import all_text, as_number, as_text, exists, make_getter

Pred = Callable[[dict[str, Any]], bool]
#: ("eq", path, value), ("any", path, "") (some text at the path: ``field: '*'``) or ("sub", "", literal);
#: all lower-case.
Alt = tuple[str, str, str]
Req = frozenset[Alt]

FALLBACK_RE_MAX_INPUT = 4096
#: seconds a fallback (backtracking) regex may take on one value
FALLBACK_TIMEOUT = 0.05
#: seconds of timed-out searches after which a fallback pattern is not run any more (bounded total time)
FALLBACK_TOTAL = 5.0
#: pattern -> values it timed out on since the last :func:`take_timeouts`
_TIMEOUTS: dict[str, int] = {}
_notes: list[str] | None = None


@contextlib.contextmanager
def collect_notes() -> Iterator[list[str]]:
    """What compiling a rule found worth telling its author (a regex on the backtracking fallback)."""
    global _notes
    outer, _notes = _notes, []
    try:
        yield _notes
    finally:
        _notes = outer


def take_timeouts() -> dict[str, int]:
    """Fallback patterns that ran out of time, and on how many values, since the last call."""
    out = dict(_TIMEOUTS)
    _TIMEOUTS.clear()
    return out
#: Characters no JSON encoder rewrites unasked (Go escapes <>&, Gson also =' ; some escape /).
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 -_.:,;+*#@!?$%^()[]{}|~`")
#: A JSON ``\u`` escape: a writer may spell any character so (``"d\u0065lete"`` is ``"delete"``), so a
#: raw line holding one cannot be judged by the literals it lacks: the prefilter lets it through (it is
#: one of its literals) and a substring rule tests its parsed event.
ESCAPE = "\\u"


class Unsupported(Exception):
    """A rule construct we cannot evaluate; the message is the precise reason reported to the user."""


def safe_literal(text: str, min_len: int = 3) -> str | None:
    """The longest run of ``text`` (lower-cased) that any JSON encoder writes unchanged unless it
    escapes it as ``\\uXXXX`` (a line holding :data:`ESCAPE` is never judged by its literals)."""
    best = ""
    cur: list[str] = []
    for ch in text.lower() + "\x00":
        if ch in _SAFE:
            cur.append(ch)
        else:
            if len(cur) > len(best):
                best = "".join(cur)
            cur = []
    return best if len(best) >= min_len else None


def prefilter_literal(alt: Alt) -> str | None:
    kind, _path, value = alt
    if kind == "eq" and value and all(ch in _SAFE for ch in value):
        return f'"{value}"' if not _looks_scalar(value) else value
    return safe_literal(value)


def _looks_scalar(value: str) -> bool:
    """Numbers and booleans may appear unquoted in JSON."""
    if value in ("true", "false"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


@dataclass
class Node:
    fn: Pred
    reqs: list[Req] = field(default_factory=list)
    # for OR-merging of simple leaves on one field: (path, kind, cased) -> values
    merge_key: tuple[str, str, bool] | None = None
    merge_values: tuple[str, ...] = ()
    cost: int = 1
    #: the node is exactly the conjunction of its ``reqs`` (all exact values, no negation): an event
    #: that meets every requirement matches, so the engine can skip calling ``fn``
    exact: bool = False
    #: what is left to test once every exact-value requirement in ``reqs`` is known to hold (the
    #: engine checks those in its index): ``None`` means nothing, the node matches
    residual: Pred | None = None
    has_residual: bool = False

    def __post_init__(self) -> None:
        if not self.has_residual:
            self.residual = None if self.exact else self.fn
            self.has_residual = True


def _texts(values: Iterable[Any]) -> list[str]:
    out = []
    for v in values:
        if v.__class__ is str:
            out.append(v)
            continue
        t = as_text(v)
        if t is not None:
            out.append(t)
    return out


def any_text(path: str, test: Callable[[str], bool]) -> Pred:
    """``d -> `` does any text value at ``path`` pass ``test``? A plain string one or two keys deep
    (the common case) is tested directly; lists, numbers, booleans, flattened keys go through the
    generic getter, with the same result."""
    get = make_getter(path)

    def generic(d: dict[str, Any]) -> bool:
        for v in get(d):
            t = v if v.__class__ is str else as_text(v)
            if t is not None and test(t):
                return True
        return False
    parts = path.split(".")
    if len(parts) == 1:
        def one(d: dict[str, Any]) -> bool:
            v = d.get(path)
            if v.__class__ is str:
                return test(v)
            return False if v is None and path not in d else generic(d)
        return one
    if len(parts) == 2:
        first, second = parts

        def two(d: dict[str, Any]) -> bool:
            a = d.get(first)
            if a.__class__ is dict:
                v = a.get(second)
                if v.__class__ is str:
                    return test(v)
            elif a is None and path not in d:  # no parent object, no flattened key for the path
                return False
            return generic(d)
        return two
    return generic


_ABSENT: Any = object()


def any_value(path: str, test: Callable[[Any], bool]) -> Pred:
    """``d -> `` does any value at ``path`` (lists flattened, as the getter sees them) pass ``test``?
    A value one or two keys deep that is not a list is tested without building a list."""
    get = make_getter(path)

    def generic(d: dict[str, Any]) -> bool:
        for v in get(d):  # noqa: SIM110 - a loop: any() over a generator costs more per call
            if test(v):
                return True
        return False
    parts = path.split(".")
    if len(parts) == 1:
        def one(d: dict[str, Any]) -> bool:
            v = d.get(path, _ABSENT)
            if v is _ABSENT:
                return False
            return generic(d) if v.__class__ is list else test(v)
        return one
    if len(parts) == 2:
        first, second = parts

        def two(d: dict[str, Any]) -> bool:
            a = d.get(first)
            if a.__class__ is dict:
                v = a.get(second, _ABSENT)
                if v is _ABSENT:
                    return False
                if v.__class__ is not list:
                    return test(v)
            elif a is None and path not in d:  # no parent object, no flattened key for the path
                return False
            return generic(d)
        return two
    return generic


def _string_leaf(path: str, kind: str, values: tuple[str, ...], cased: bool) -> Node:
    vals = values if cased else tuple(v.lower() for v in values)
    fn: Pred
    if kind == "eq":
        target = frozenset(vals)
        if cased:
            def fn_t(t: str) -> bool:
                return t in target
        else:
            def fn_t(t: str) -> bool:
                return t.lower() in target
        fn = any_text(path, fn_t)
        reqs = [frozenset(("eq", path, v.lower()) for v in vals)]
    elif kind == "prefix":
        def fn_t(t: str) -> bool:
            return (t if cased else t.lower()).startswith(vals)
        fn = any_text(path, fn_t)
        reqs = _sub_reqs(vals)
    elif kind == "suffix":
        def fn_t(t: str) -> bool:
            return (t if cased else t.lower()).endswith(vals)
        fn = any_text(path, fn_t)
        reqs = _sub_reqs(vals)
    else:  # contains
        if len(vals) == 1:
            (needle,) = vals

            def fn_t(t: str) -> bool:
                return needle in (t if cased else t.lower())
        else:
            def fn_t(t: str) -> bool:
                s = t if cased else t.lower()
                for n in vals:  # noqa: SIM110 - a loop: any() over a generator costs more per call
                    if n in s:
                        return True
                return False
        fn = any_text(path, fn_t)
        reqs = _sub_reqs(vals)
    return Node(fn, reqs, (path, kind, cased), tuple(values), 1 if kind == "eq" else 2,
                exact=kind == "eq" and not cased)


def _sub_reqs(vals: Iterable[str]) -> list[Req]:
    alts = []
    for v in vals:
        lit = safe_literal(v)
        if lit is None:
            return []
        alts.append(("sub", "", lit))
    return [frozenset(alts)]


def regex_literal(pattern: str, json_safe: bool = True) -> str | None:
    """A literal every match of ``pattern`` must contain (for the index), or None when unsure.

    Conservative: no alternation anywhere, only text outside groups and classes, a character made
    optional by ``? * {`` is dropped.
    """
    if "|" in pattern:
        return None
    runs: list[str] = []
    cur: list[str] = []
    depth = 0
    i = 0

    def cut() -> None:
        if cur:
            runs.append("".join(cur))
            cur.clear()
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isalnum():
                cut()
            elif depth == 0:
                cur.append(nxt)
            i += 2
            continue
        if c == "[":
            cut()
            j = i + 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            cut()
            depth += 1
        elif c == ")":
            cut()
            depth = max(0, depth - 1)
        elif c in "*?{":
            if cur:
                cur.pop()
            cut()
            if c == "{":
                while i < len(pattern) and pattern[i] != "}":
                    i += 1
        elif c in ".^$+":
            cut()
        elif depth == 0:
            cur.append(c)
        i += 1
    cut()
    if not json_safe:  # for a check on the parsed value: any text will do
        longest = max(runs, key=len, default="")
        return longest.lower() if len(longest) >= 3 else None
    lits = [x for x in (safe_literal(r, 4) for r in runs) if x]
    return max(lits, key=len) if lits else None


def _regex_leaf(path: str | None, pattern: str, ignorecase: bool, multiline: bool, dotall: bool) -> Node:
    import re2

    flags = ("i" if ignorecase else "") + ("m" if multiline else "") + ("s" if dotall else "")
    full = f"(?{flags}){pattern}" if flags else pattern
    search: Callable[[str], Any]
    options = re2.Options()
    options.log_errors = False  # a pattern RE2 rejects is ours to report, not RE2's to print on stderr
    try:
        compiled = re2.compile(full, options=options)
        # the C++ matcher itself, for a yes/no answer: the Python wrapper's search builds a
        # generator and a match object with decoded offsets per call, several times the search
        matcher = compiled._regexp.Match
        unanchored = re2._Anchor.UNANCHORED

        def search(s: str) -> Any:
            b = s.encode("utf-8")
            return True if matcher(unanchored, b, 0, len(b))[0][0] >= 0 else None
    except re2.error:
        search = _fallback_search(pattern, full)
    if path is None:
        def fn(d: dict[str, Any]) -> bool:
            out: list[str] = []
            all_text(d, out)
            return any(search(t) for t in out)
        return Node(fn, cost=8)
    needle = regex_literal(pattern, json_safe=False)
    if needle is not None:
        # a literal every match contains: a plain substring test first, the regex only if it is there
        def test(t: str) -> bool:
            return needle in t.lower() and search(t) is not None
    else:
        def test(t: str) -> bool:
            return search(t) is not None
    fnp = any_text(path, test)
    lit = regex_literal(pattern)
    # with a literal every match holds, the usual failure is one substring test: as cheap as a
    # contains, so it goes before costlier conjuncts
    return Node(fnp, [frozenset({("sub", "", lit)})] if lit else [], cost=2 if needle is not None else 5)


def _fallback_search(pattern: str, full: str) -> Callable[[str], Any]:
    """A search with the backtracking ``regex`` engine under a time budget (see the module's docstring)."""
    import importlib

    regex: Any = importlib.import_module("regex")  # no type stubs; the pure-regex fallback is rare
    try:
        fallback = regex.compile(full, flags=regex.VERSION0)  # re's syntax and semantics
    except regex.error as exc:
        raise Unsupported(f"invalid regular expression {pattern!r}: {exc}") from None
    if _notes is not None:
        _notes.append(f"regex {pattern!r} needs backtracking (look-around or back-reference), which RE2 "
                      f"cannot do: it runs for at most {FALLBACK_TIMEOUT * 1000:g} ms per value, and a value "
                      f"that takes longer counts as not matching (reported)")
    spent = [0.0]

    def search(s: str) -> Any:
        if spent[0] >= FALLBACK_TOTAL:
            _TIMEOUTS[pattern] = _TIMEOUTS.get(pattern, 0) + 1
            return None
        try:
            return fallback.search(s[:FALLBACK_RE_MAX_INPUT], timeout=FALLBACK_TIMEOUT)
        except TimeoutError:
            spent[0] += FALLBACK_TIMEOUT
            _TIMEOUTS[pattern] = _TIMEOUTS.get(pattern, 0) + 1
            return None
    return search


def _wildcard_regex(parts: list[Any], cased: bool) -> str:
    from sigma.types import SpecialChars

    out = []
    for p in parts:
        if p is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        else:
            out.append(re.escape(p))
    body = "".join(out)
    return ("" if cased else "(?i)") + "(?s)^" + body + "$"


def _sigma_string(path: str | None, value: Any, cased: bool) -> Node:
    from sigma.types import Placeholder, SpecialChars

    parts: list[Any] = []
    for p in value.s:
        if isinstance(p, Placeholder):
            raise Unsupported(f"placeholder %{p.name}% needs a processing pipeline to be resolved")
        if isinstance(p, str) and parts and isinstance(parts[-1], str):
            parts[-1] += p
        else:
            parts.append(p)
    star = SpecialChars.WILDCARD_MULTI
    if path is None:  # keyword: full-text search, wildcards at the ends are implied
        inner = parts
        while inner and inner[0] is star:
            inner = inner[1:]
        while inner and inner[-1] is star:
            inner = inner[:-1]
        if all(isinstance(p, str) for p in inner):
            needle = "".join(inner)
            n = needle if cased else needle.lower()

            def kw(d: dict[str, Any]) -> bool:
                out: list[str] = []
                all_text(d, out)
                return any(n in (t if cased else t.lower()) for t in out)
            lit = safe_literal(needle)
            return Node(kw, [frozenset({("sub", "", lit)})] if lit else [], cost=8)
        rx = _wildcard_regex([star, *inner, star], cased)
        return _regex_leaf(None, rx, False, False, True)
    if not parts:
        return _string_leaf(path, "eq", ("",), cased)
    if all(isinstance(p, str) for p in parts):
        return _string_leaf(path, "eq", (parts[0],), cased)
    if parts == [star]:
        def has_text(v: Any) -> bool:
            return v.__class__ is str or as_text(v) is not None
        # exact: the index checks "some text at the path" itself, beside the rule's other values
        return Node(any_value(path, has_text), [frozenset({("any", path, "")})], exact=True)
    if len(parts) == 3 and parts[0] is star and parts[2] is star and isinstance(parts[1], str):
        return _string_leaf(path, "contains", (parts[1],), cased)
    if len(parts) == 2 and isinstance(parts[0], str) and parts[1] is star:
        return _string_leaf(path, "prefix", (parts[0],), cased)
    if len(parts) == 2 and parts[0] is star and isinstance(parts[1], str):
        return _string_leaf(path, "suffix", (parts[1],), cased)
    node = _regex_leaf(path, _wildcard_regex(parts, cased), False, False, False)
    lits = [safe_literal(p) for p in parts if isinstance(p, str)]
    best = max((x for x in lits if x), key=len, default=None)
    if best:
        node.reqs = [frozenset({("sub", "", best)})]
    return node


def _timestamp(v: Any) -> datetime | None:
    from cnsec.detect.normalize import parse_time

    ts = parse_time(v)
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def compile_leaf(path: str | None, value: Any) -> Node:
    """One ``field = value`` leaf (``path`` None: a keyword) from pySigma's typed value."""
    from sigma import types as st

    if isinstance(value, st.SigmaExpansion):
        return or_nodes([compile_leaf(path, v) for v in value.values])
    if isinstance(value, st.SigmaCasedString):
        return _sigma_string(path, value, True)
    if isinstance(value, st.SigmaString):
        return _sigma_string(path, value, False)
    if isinstance(value, st.SigmaRegularExpression):
        flags = value.flags
        F = st.SigmaRegularExpressionFlag
        return _regex_leaf(path, str(value.regexp), F.IGNORECASE in flags, F.MULTILINE in flags,
                           F.DOTALL in flags)
    if path is None:
        if isinstance(value, st.SigmaNumber):
            return _sigma_string(None, st.SigmaString(str(value.number)), False)
        raise Unsupported(f"keyword of type {type(value).__name__} is not supported")
    get = make_getter(path)
    if isinstance(value, st.SigmaTimestampPart):
        part = value.timestamp_part
        want = int(value.number)
        TP = st.TimestampPart

        def tpart(d: dict[str, Any]) -> bool:
            for v in get(d):
                dt = _timestamp(v)
                if dt is None:
                    continue
                got = {TP.MINUTE: dt.minute, TP.HOUR: dt.hour, TP.DAY: dt.day,
                       TP.WEEK: dt.isocalendar()[1], TP.MONTH: dt.month, TP.YEAR: dt.year}[part]
                if got == want:
                    return True
            return False
        return Node(tpart, cost=4)
    if isinstance(value, st.SigmaBool):
        return _string_leaf(path, "eq", ("true" if value.boolean else "false",), False)
    if isinstance(value, st.SigmaNumber):
        # A number equals a value written the same way, as an event's value is read: 401 equals
        # 401, 401.0 and "401", not "401.0" or "0401". The index finds rules by that text, so a
        # rule's own match and the index agree on every value (a string that parses to the number
        # would be missed by the index whatever the match said), and exact: reaching the rule is
        # the match.
        text = as_text(value.number) or str(value.number)

        def numeq_v(v: Any) -> bool:
            if v.__class__ is str:
                return v.lower() == text
            if v is True or v is False:
                return False
            t = as_text(v)
            return t is not None and t.lower() == text
        numeq = any_value(path, numeq_v)
        return Node(numeq, [frozenset({("eq", path, text)})], ("", "", False), (), 1, exact=True)
    if isinstance(value, st.SigmaNull):
        def isnull(d: dict[str, Any]) -> bool:
            vals = get(d)
            return not vals or all(v is None for v in vals)
        return Node(isnull)
    if isinstance(value, st.SigmaExists):
        want_exists = bool(value.exists)

        def ex(d: dict[str, Any]) -> bool:
            return exists(d, path) is want_exists
        return Node(ex)
    if isinstance(value, st.SigmaCIDRExpression):
        net = value.network

        def cidr(d: dict[str, Any]) -> bool:
            for t in _texts(get(d)):
                try:
                    if ipaddress.ip_address(t) in net:
                        return True
                except ValueError:
                    continue
            return False
        return Node(cidr, cost=3)
    if isinstance(value, st.SigmaCompareExpression):
        limit = float(value.number.number)
        op = value.op
        ops = st.CompareOperators
        cmp: Callable[[float], bool] = {
            ops.LT: lambda n: n < limit, ops.LTE: lambda n: n <= limit, ops.GT: lambda n: n > limit,
            ops.GTE: lambda n: n >= limit, ops.NEQ: lambda n: n != limit,
        }[op]

        def compare_v(v: Any) -> bool:
            n = float(v) if v.__class__ is int else as_number(v)
            return n is not None and cmp(n)
        return Node(any_value(path, compare_v), cost=2)
    if isinstance(value, st.SigmaFieldReference):
        other = make_getter(value.field)
        sw, ew = value.starts_with, value.ends_with

        def fieldref(d: dict[str, Any]) -> bool:
            mine = [t.lower() for t in _texts(get(d))]
            for o in _texts(other(d)):
                o = o.lower()
                for m in mine:
                    if (sw and m.startswith(o)) or (ew and m.endswith(o)) or (not sw and not ew and m == o):
                        return True
            return False
        return Node(fieldref, cost=3)
    raise Unsupported(f"value type {type(value).__name__} is not supported")


def or_nodes(nodes: list[Node]) -> Node:
    merged: dict[tuple[str, str, bool], list[str]] = {}
    rest: list[Node] = []
    for n in nodes:
        if n.merge_key is not None and n.merge_key[0] and n.merge_values:
            merged.setdefault(n.merge_key, []).extend(n.merge_values)
        else:
            rest.append(n)
    for (path, kind, cased), values in merged.items():
        rest.append(_string_leaf(path, kind, tuple(dict.fromkeys(values)), cased))
    if len(rest) == 1:
        return rest[0]
    rest.sort(key=lambda n: n.cost)
    fns = tuple(n.fn for n in rest)

    def any_of(d: dict[str, Any]) -> bool:
        for f in fns:  # noqa: SIM110 - a loop: any() over a generator costs more per call
            if f(d):
                return True
        return False
    reqs: list[Req] = []
    if all(n.reqs for n in rest):
        reqs = [frozenset().union(*(best_req(n.reqs) for n in rest))]
    exact = all(n.exact and len(n.reqs) == 1 for n in rest)
    return Node(any_of, reqs, cost=sum(n.cost for n in rest), exact=exact)


def and_nodes(nodes: list[Node]) -> Node:
    if len(nodes) == 1:
        return nodes[0]
    nodes = sorted(nodes, key=lambda n: n.cost)
    fns = tuple(n.fn for n in nodes)
    if len(fns) == 2:
        f1, f2 = fns

        def both(d: dict[str, Any]) -> bool:
            return f1(d) and f2(d)
        fn: Pred = both
    else:
        def all_of(d: dict[str, Any]) -> bool:
            for f in fns:  # noqa: SIM110 - a loop: all() over a generator costs more per call
                if not f(d):
                    return False
            return True
        fn = all_of
    reqs = [r for n in nodes for r in n.reqs]
    rest = tuple(n.residual for n in nodes if n.residual is not None)
    residual: Pred | None
    if not rest:
        residual = None
    elif len(rest) == 1:
        residual = rest[0]
    else:
        def rest_of(d: dict[str, Any]) -> bool:
            for f in rest:  # noqa: SIM110 - a loop: all() over a generator costs more per call
                if not f(d):
                    return False
            return True
        residual = rest_of
    return Node(fn, reqs, cost=sum(n.cost for n in nodes), exact=all(n.exact for n in nodes),
                residual=residual, has_residual=True)


def not_node(node: Node) -> Node:
    inner = node.fn

    def negated(d: dict[str, Any]) -> bool:
        return not inner(d)
    return Node(negated, cost=node.cost)


def best_req(reqs: list[Req]) -> Req:
    """Local choice among alternative requirement sets: exact values first, then fewer, longer literals."""
    def score(r: Req) -> tuple[int, int, int]:
        subs = sum(1 for a in r if a[0] == "sub")
        return (subs, len(r), -min((len(a[2]) for a in r), default=0))
    return min(reqs, key=score)


def compile_condition(tree: Any, map_field: Callable[[str], str]) -> Node:
    """Compile pySigma's parsed condition (AND/OR/NOT over field=value leaves) into a :class:`Node`."""
    from sigma import conditions as sc

    if isinstance(tree, sc.ConditionAND):
        return and_nodes([compile_condition(a, map_field) for a in tree.args])
    if isinstance(tree, sc.ConditionOR):
        return or_nodes([compile_condition(a, map_field) for a in tree.args])
    if isinstance(tree, sc.ConditionNOT):
        return not_node(compile_condition(tree.args[0], map_field))
    if isinstance(tree, sc.ConditionFieldEqualsValueExpression):
        return compile_leaf(map_field(tree.field), tree.value)
    if isinstance(tree, sc.ConditionValueExpression):
        return compile_leaf(None, tree.value)
    raise Unsupported(f"condition element {type(tree).__name__} is not supported")
