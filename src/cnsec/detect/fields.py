"""Field access on raw event dicts: dotted paths, lists flattened, values normalised for matching.

Rules match on the original event fields, so a path like ``objectRef.resource`` walks nested dicts;
a list on the way (``requestObject.spec.containers``) fans out, and the rule matches if any element
does (Sigma's and Falco's semantics for multi-valued fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

Getter = Callable[[dict[str, Any]], list[Any]]

_EMPTY: list[Any] = []


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def flat_items(values: list[Any]) -> Iterator[Any]:
    """The items of ``values`` with lists in lists flattened, in order. A stack of iterators, not
    recursion: a hostile line can nest arrays a thousand levels deep, past Python's recursion limit.
    The walkers below loop plainly and hand only a nested list to this."""
    stack = [iter(values)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def _walk(values: Iterable[Any], key: str) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            if key in value:
                nxt = value[key]
                if isinstance(nxt, list):
                    out.extend(nxt)
                else:
                    out.append(nxt)
        elif isinstance(value, list):
            out.extend(_walk(flat_items(value), key))  # no list comes out of flat_items: no deeper call
    return out


def _collect(values: Iterable[Any], parts: list[str], k: int, out: list[Any]) -> None:
    """``_walk`` over ``parts[k:]``, one key after the other, with the values at the end appended
    to ``out``: in the same order, without the list each step of ``_walk`` builds."""
    key = parts[k]
    last = k == len(parts) - 1
    for value in values:
        if isinstance(value, dict):
            if key in value:
                nxt = value[key]
                if last:
                    if isinstance(nxt, list):
                        out.extend(nxt)
                    else:
                        out.append(nxt)
                elif isinstance(nxt, list):
                    _collect(nxt, parts, k + 1, out)
                elif isinstance(nxt, dict):
                    _collect((nxt,), parts, k + 1, out)
        elif isinstance(value, list):
            _collect(flat_items(value), parts, k, out)  # lists in lists: flattened without recursion


def make_getter(path: str) -> Getter:
    """A function returning every value at ``path`` (an empty list when the field is absent).

    A key that literally contains dots (flattened exports) is tried first, then the nested walk.
    """
    parts = path.split(".")
    if len(parts) == 1:
        def get1(d: dict[str, Any]) -> list[Any]:
            v = d.get(path, _EMPTY)
            if v is _EMPTY:
                return []
            return _as_list(v)
        return get1
    first = parts[0]
    if len(parts) == 2:
        second = parts[1]

        def get2(d: dict[str, Any]) -> list[Any]:
            a = d.get(first)
            if isinstance(a, dict):
                if second in a:
                    v = a[second]
                    return _as_list(v)
                return _EMPTY
            if a is None:
                v = d.get(path, _EMPTY)
                if v is _EMPTY:
                    return []
                return _as_list(v)
            if isinstance(a, list):
                return _walk(a, second)
            return _EMPTY
        return get2

    n = len(parts)

    def getn(d: dict[str, Any]) -> list[Any]:
        cur: Any = d
        for i in range(n):  # fast path: plain nested dicts
            if cur.__class__ is not dict:
                break
            nxt = cur.get(parts[i], _EMPTY)
            if nxt is _EMPTY:
                return _missing(d, cur, i)
            cur = nxt
        else:
            return _as_list(cur)
        # a list on the way: fan out from there (the keys before it were plain dicts)
        out: list[Any] = []
        _collect(cur if cur.__class__ is list else [cur], parts, i, out)
        return out

    # keys with dots inside (``annotations.authorization.k8s.io/decision``), per level: longest first
    joined = [[(j, ".".join(parts[i:j])) for j in range(n, i + 1, -1)] for i in range(n)]

    def _missing(d: dict[str, Any], parent: dict[str, Any], i: int) -> list[Any]:
        """Absent on the plain walk: maybe a flattened key, or a key with dots inside."""
        for j, key in joined[i]:
            if key in parent:
                out = _as_list(parent[key])
                for p in parts[j:]:
                    out = _walk(out, p)
                return out
        return []
    return getn


#: Getters shared by callers that look up the same few paths over and over (time and key fields).
cached_getter = cache(make_getter)


def exists(d: dict[str, Any], path: str) -> bool:
    """True when the field is present at all (even with a null value)."""
    if path in d:
        return True
    values: list[Any] = [d]
    parts = path.split(".")
    for key in parts[:-1]:
        values = _walk(values, key)
        if not values:
            return False
    last = parts[-1]
    for v in values:
        if isinstance(v, dict) and last in v:
            return True
        if isinstance(v, list) and any(isinstance(x, dict) and last in x for x in v):
            return True
    return False


def as_text(value: Any) -> str | None:
    """The string a rule compares against: JSON-ish rendering of scalars, ``None`` for null/containers."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return None


def as_number(v: Any) -> float | None:
    """The number a numeric comparison uses: numbers and numeric strings, never booleans."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def first_text(d: dict[str, Any], getter: Getter) -> str | None:
    for v in getter(d):
        t = as_text(v)
        if t is not None:
            return t
    return None


def all_text(value: Any, out: list[str]) -> None:
    """Every scalar in the event, for keyword (full-text) detections, in document order.

    A loop with a stack of iterators, not recursion: a log line may nest a thousand levels deep
    (JSON parsers accept that), deeper than Python's recursion limit."""
    stack = [iter((value,))]
    while stack:
        for v in stack[-1]:
            if isinstance(v, dict):
                stack.append(iter(v.values()))
                break
            if isinstance(v, list):
                stack.append(iter(v))
                break
            t = as_text(v)
            if t is not None:
                out.append(t)
        else:
            stack.pop()


#: how deep an event is written as evidence: JSON writers stop at some depth (orjson at 255 levels,
#: the standard library at Python's recursion limit) and an alert about a hostile event must still be
#: written; its containers below this depth are replaced by :data:`CUT`
EVIDENCE_DEPTH = 200
CUT = f"(cut: nested deeper than {EVIDENCE_DEPTH} levels)"


def limit_depth(value: Any, max_depth: int = EVIDENCE_DEPTH) -> Any:
    """A copy of ``value`` (dicts and lists) whose containers below ``max_depth`` levels are
    replaced by :data:`CUT`; keys and order are kept. A loop, not recursion (see :func:`all_text`)."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        src, dst, depth = stack.pop()
        for key, v in (src.items() if isinstance(src, dict) else enumerate(src)):
            if isinstance(v, dict | list):
                if depth >= max_depth:
                    copy: Any = CUT
                else:
                    copy = {} if isinstance(v, dict) else []
                    stack.append((v, copy, depth + 1))
            else:
                copy = v
            if isinstance(dst, dict):
                dst[key] = copy
            else:
                dst.append(copy)
    return root
