"""Field access for the decision tree: a field's lower-cased text value(s) in one event, read once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cnsec.detect.fields import as_text, flat_items, make_getter

_GENERIC: Any = object()
_NOTHING: frozenset[str] = frozenset()


class _AnyText(frozenset[str]):
    """What a ``field: '*'`` requirement accepts: any text at all. It stands where a guard's set of
    accepted values stands, and answers the two tests guards make (``value in accepted`` for one
    text, ``accepted.isdisjoint(values)`` for several) as "is there a value"."""

    def __contains__(self, value: object) -> bool:
        return True

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        return not other


#: the accepted values of a ``("any", path, "")`` requirement (see :class:`_AnyText`); never split on
ANY_TEXT = _AnyText()

#: a field's lower-cased value(s) in one event: one ``str`` (the common case) or a ``set`` of them
Values = Any
Guard = tuple[tuple[str, frozenset[str]], ...]  # alternatives: (path, accepted values)


def value_fetcher(path: str) -> Callable[[dict[str, Any]], Values]:
    """``d -> `` the lower-cased text values of ``path`` (see :data:`Values`), as rules compare them.

    Plain nested dicts holding a string or an integer are read inline; everything else (lists on the
    way, booleans, floats, flattened or dotted keys, absent fields) goes through the generic getter.
    """
    get = make_getter(path)

    def generic(d: dict[str, Any]) -> Values:
        got = set()
        for x in get(d):
            t = x if x.__class__ is str else as_text(x)
            if t is not None:
                got.add(t.lower())
        return got

    parts = path.split(".")
    if len(parts) == 1:
        def one(d: dict[str, Any]) -> Values:
            v = d.get(path)
            if v.__class__ is str:
                return v.lower()
            if v.__class__ is int:
                return str(v)
            if v is True:  # as as_text writes them (``hostNetwork: true``)
                return "true"
            if v is False:
                return "false"
            return _NOTHING if v is None else generic(d)
        return one
    if len(parts) == 2:
        first, second = parts

        def two(d: dict[str, Any]) -> Values:
            a = d.get(first)
            if a.__class__ is dict:
                v = a.get(second)
                if v.__class__ is str:
                    return v.lower()
                if v.__class__ is int:
                    return str(v)
                if v is True:
                    return "true"
                if v is False:
                    return "false"
                if v is None and second not in a:
                    return _NOTHING
            elif a is None and path not in d:  # no parent object, no flattened key for the path
                return _NOTHING
            return generic(d)
        return two

    n = len(parts)
    # per level, the keys with dots inside (``annotations.authorization.k8s.io/decision``) that may
    # stand in for the rest of the path: only when one is there does the generic getter take over
    dotted = tuple(tuple(".".join(parts[i:j]) for j in range(n, i + 1, -1)) for i in range(n))

    last = n - 1

    def collect(values: Iterable[Any], k: int, got: set[str]) -> None:
        """The texts at ``parts[k:]`` under ``values`` into ``got``: ``walk`` key by key and then
        ``as_text``, without the list each step of ``walk`` builds (lists fan out the same way)."""
        key = parts[k]
        for value in values:
            if isinstance(value, dict):
                if key in value:
                    x = value[key]
                    if k == last:
                        for t in (x if isinstance(x, list) else (x,)):
                            if t.__class__ is not str:
                                t = as_text(t)
                                if t is None:
                                    continue
                            got.add(t.lower())
                    elif isinstance(x, list):
                        collect(x, k + 1, got)
                    elif isinstance(x, dict):
                        collect((x,), k + 1, got)
            elif isinstance(value, list):
                collect(flat_items(value), k, got)  # lists in lists: flattened without recursion

    def deep(d: dict[str, Any]) -> Values:
        cur: Any = d
        i = 0
        for k in parts:
            if cur.__class__ is not dict:
                break
            parent = cur
            cur = cur.get(k, _GENERIC)
            if cur is _GENERIC:
                for key in dotted[i]:
                    if key in parent:
                        return generic(d)
                return _NOTHING
            i += 1
        else:
            if cur.__class__ is str:
                return cur.lower()
            if cur is True:
                return "true"
            if cur is False:
                return "false"
            return generic(d)
        # a list on the way: fan out over its elements for the remaining keys
        got: set[str] = set()
        collect(cur if isinstance(cur, list) else (cur,), i, got)
        return got
    return deep

