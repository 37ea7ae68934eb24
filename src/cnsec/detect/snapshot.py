"""A detector's state as canonical bytes: plain JSON with a few tags, compressed, versioned.

Why not pickle: a snapshot is stored where other processes read it (a JetStream KV bucket), and
unpickling runs whatever the bytes name; and pickle's output depends on which equal strings happen to
be one object (interning, orjson's key cache), so equal states would not give equal bytes. Here the
state is walked as a tree: equal states give equal bytes in every process, and decoding builds only
plain data and the few state classes listed in :data:`CLASSES`.

The tree: JSON values as they are, except a dict with a ``$t`` key, which is a tag: ``float`` (inf,
nan), ``int`` (past 64 bits), ``bytes`` (as latin-1 text), ``tuple``, ``set``/``frozenset`` (items
sorted by their encoding, so hash order does not show), ``deque``, ``dict`` (keys that are not
strings, or a ``$t`` key of its own), ``enum`` and ``obj`` (an instance of a listed class: its
attributes, and its items when it is a mapping).
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict, deque
from enum import Enum
from typing import Any

from cnsec.errors import CnsecError

_TAG = "$t"
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


class SnapshotError(CnsecError):
    """A snapshot that cannot be restored here: damaged, of another version, or taken by a detector
    loaded with other rules or settings."""


def _classes() -> dict[str, type]:
    """The state classes a snapshot may hold (by ``module.qualname``); nothing else is built."""
    from cnsec.detect.correlate.baseline import Baseline, Ewma, LogHistogram, P2Quantile
    from cnsec.detect.correlate.metrics import Buckets, Ratio, WindowBuckets
    from cnsec.detect.correlate.signs import Acc, Occurrence
    from cnsec.detect.correlate.state import LRU
    from cnsec.detect.engine.scan import StreamState
    from cnsec.model.event import Alert
    from cnsec.model.severity import Severity

    found = (Alert, Severity, LRU, Acc, Occurrence, Baseline, Ewma, LogHistogram, P2Quantile, Buckets,
             Ratio, WindowBuckets, StreamState)
    return {f"{c.__module__}.{c.__qualname__}": c for c in found}


_CLASSES: dict[str, type] | None = None


def classes() -> dict[str, type]:
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _classes()
    return _CLASSES


def _slots(cls: type) -> list[str]:
    out: list[str] = []
    for klass in reversed(cls.__mro__):
        names = klass.__dict__.get("__slots__", ())
        out.extend([names] if isinstance(names, str) else names)
    return [n for n in out if n not in ("__dict__", "__weakref__")]


def _sort_key(item: Any) -> bytes:
    import orjson

    return orjson.dumps(item)


def encode(value: Any) -> Any:
    """``value`` as a JSON-able tree (see the module's docstring); raises :class:`TypeError` for an
    object of a class not listed."""
    cls = value.__class__
    if cls is str or value is None or cls is bool:
        return value
    if cls is int:
        return value if _INT_MIN <= value <= _INT_MAX else {_TAG: "int", "v": str(value)}
    if cls is float:
        return value if math.isfinite(value) else {_TAG: "float", "v": repr(value)}
    if cls is list:
        return [encode(v) for v in value]
    if cls is dict:
        if _TAG not in value and all(k.__class__ is str for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {_TAG: "dict", "i": [[encode(k), encode(v)] for k, v in value.items()]}
    if cls is tuple:
        return {_TAG: "tuple", "i": [encode(v) for v in value]}
    if cls is set or cls is frozenset:
        return {_TAG: cls.__name__, "i": sorted((encode(v) for v in value), key=_sort_key)}
    if cls is bytes:
        return {_TAG: "bytes", "v": value.decode("latin-1")}
    if cls is deque:
        return {_TAG: "deque", "i": [encode(v) for v in value], "m": value.maxlen}
    name = f"{cls.__module__}.{cls.__qualname__}"
    if classes().get(name) is not cls:  # (``cls`` is a listed class from here on)
        raise TypeError(f"a {name} cannot be part of a detector snapshot")
    if isinstance(value, Enum):
        return {_TAG: "enum", "c": name, "v": encode(value.value)}
    attrs = {n: encode(getattr(value, n)) for n in _slots(value.__class__) if hasattr(value, n)}
    attrs.update((k, encode(v)) for k, v in getattr(value, "__dict__", {}).items())
    out: dict[str, Any] = {_TAG: "obj", "c": name, "a": attrs}
    if isinstance(value, dict):
        out["i"] = [[encode(k), encode(v)] for k, v in value.items()]
    return out


def decode(tree: Any) -> Any:
    """The value :func:`encode` made ``tree`` from."""
    cls = tree.__class__
    if cls is list:
        return [decode(v) for v in tree]
    if cls is not dict:
        return tree
    tag = tree.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in tree.items()}
    try:
        if tag == "float":
            return float(tree["v"])
        if tag == "int":
            return int(tree["v"])
        if tag == "bytes":
            return tree["v"].encode("latin-1")
        if tag == "tuple":
            return tuple(decode(v) for v in tree["i"])
        if tag == "set":
            return {decode(v) for v in tree["i"]}
        if tag == "frozenset":
            return frozenset(decode(v) for v in tree["i"])
        if tag == "deque":
            return deque((decode(v) for v in tree["i"]), tree["m"])
        if tag == "dict":
            return {decode(k): decode(v) for k, v in tree["i"]}
        if tag in ("enum", "obj"):
            return _build(tag, tree)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"damaged snapshot: a {tag!r} value: {exc}") from None
    raise SnapshotError(f"damaged snapshot: unknown tag {tag!r}")


def _build(tag: str, tree: dict[str, Any]) -> Any:
    cls = classes().get(tree["c"])
    if cls is None:
        raise SnapshotError(f"damaged snapshot: {tree['c']!r} is not a state class")
    if tag == "enum":
        return cls(decode(tree["v"]))
    obj: Any = object.__new__(cls) if not issubclass(cls, dict) else cls.__new__(cls)
    if issubclass(cls, OrderedDict):
        OrderedDict.__init__(obj)
    for k, v in tree["a"].items():
        object.__setattr__(obj, k, decode(v))
    for k, v in tree.get("i", ()):
        obj[decode(k)] = decode(v)
    return obj


MAGIC = b"cnsec-detector-state\n"


def pack(version: int, fingerprint: str, state: Any) -> bytes:
    """The snapshot bytes: :data:`MAGIC`, then zlib-compressed JSON ``{version, fingerprint, state}``."""
    import orjson

    doc = {"version": version, "fingerprint": fingerprint, "state": encode(state)}
    return MAGIC + zlib.compress(orjson.dumps(doc), 1)


def unpack(blob: bytes, version: int, fingerprint: str) -> Any:
    """The state :func:`pack` wrote, if it was written by this ``version`` with this ``fingerprint``."""
    import orjson

    if not blob.startswith(MAGIC):
        raise SnapshotError("not a detector snapshot")
    try:
        doc = orjson.loads(zlib.decompress(blob[len(MAGIC):]))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise SnapshotError(f"damaged snapshot: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != version:
        got = doc.get("version") if isinstance(doc, dict) else None
        raise SnapshotError(f"snapshot of version {got!r}, this detector reads version {version}")
    if doc.get("fingerprint") != fingerprint:
        raise SnapshotError("snapshot taken by a detector loaded with other rules or settings")
    return decode(doc.get("state"))
