"""Fixes as the mitigation plan shows them: RFC 6902 JSON patches into a resource's document (RFC 6901
pointers) and YAML snippets.

These are the assess pillar's output format, not Kubernetes knowledge, so they stay here while the
resources and workloads they point into live in :mod:`cnsec.k8s`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import Path

#: Pointers of recent paths, with the type of each step: equal tuples may differ in type (1, 1.0
#: and True are equal keys), and only paths of strings and ints are remembered.
_POINTERS: dict[tuple[Any, ...], tuple[tuple[type, ...], str]] = {}
_MAX_POINTERS = 4096


def pointer(path: Path | tuple[str | int, ...]) -> str:
    """An RFC 6901 JSON pointer for ``path``."""
    types = tuple(map(type, path))
    known = _POINTERS.get(path)
    if known is not None and known[0] == types:
        return known[1]
    joined = "/".join(map(str, path))
    if "~" in joined or joined.count("/") >= len(path):  # a step holds '~' or '/': escape them
        joined = "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
    out = "/" + joined
    if all(t is str or t is int for t in types):
        if len(_POINTERS) >= _MAX_POINTERS:
            _POINTERS.clear()
        _POINTERS[path] = (types, out)
    return out


def set_patch(res: K8sResource, path: Path, value: Any) -> list[dict[str, Any]]:
    """One RFC 6902 op that sets ``path`` (``-`` appends to a list) to ``value``.

    Missing parents are created in the same op; a parent of the wrong type (``resources: []``,
    ``env: "x"``, a null) is replaced by a fresh structure, so applying the patch always yields the
    intended document, even on a malformed manifest.
    """
    node: Any = res.doc
    end = len(path) - 1
    k = 0
    step = path[0]
    while k < end:  # does the child hold the next step? (runs for most of the ~30k findings of a big run)
        nxt = path[k + 1]
        child = node[step] if isinstance(node, list) and isinstance(step, int) else node.get(step)
        if isinstance(nxt, int):
            if not (isinstance(child, list) and 0 <= nxt < len(child)):
                break
        elif nxt == "-":
            if not isinstance(child, list):
                break
        elif not isinstance(child, dict):
            break
        node = child
        step = nxt
        k += 1
    payload: Any = value
    if k < end:
        for s in reversed(path[k + 1:]):
            payload = [payload] if isinstance(s, int) or s == "-" else {s: payload}
    exists = (isinstance(node, dict) and step in node) or (isinstance(node, list) and isinstance(step, int))
    return [{"op": "replace" if exists else "add", "path": pointer(path[:k + 1]), "value": payload}]


def remove_patch(path: Path) -> list[dict[str, Any]]:
    return [{"op": "remove", "path": pointer(path)}]


def to_yaml(obj: Any) -> str:
    """YAML text for a fix snippet: exactly ``yaml.dump(obj, sort_keys=False, default_flow_style=False)``
    with libyaml's C emitter, fed by :func:`_events` where it can be (see there why)."""
    import io

    import yaml

    data = _plain(obj)
    dumper_cls: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    events = None if dumper_cls.yaml_path_resolvers else _events(data)
    if events is None:
        return str(yaml.dump(data, Dumper=dumper_cls, sort_keys=False, default_flow_style=False))
    stream = io.StringIO()
    dumper = dumper_cls(stream, default_flow_style=False, sort_keys=False)
    try:
        dumper.open()
        for event in events:
            dumper.emit(event)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def _plain(value: Any) -> Any:
    """A copy with string keys whose every dict and list is a fresh object, seen once in the tree."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_STR, _INT, _BOOL, _NULL, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null", "map", "seq"))


def _events(data: Any) -> list[Any] | None:
    """The document's YAML events exactly as ``yaml.dump`` produces them, or ``None`` when ``data``
    holds anything but dicts, lists, str, int, bool and None (exact types).

    ``yaml.dump`` represents objects as nodes in Python (per object an alias check, the type's MRO,
    a representer), then serialises the nodes, and libyaml calls back into Python twice per scalar
    to resolve its implicit tag and twice per node for path resolvers: two thirds of the time of a
    fix snippet. For the plain trees of :func:`_plain` the outcome is known: no anchors (its dicts
    and lists are distinct objects, scalars are never aliased), block style everywhere
    (``default_flow_style=False``), the safe representer's text and tag for each scalar, and a
    scalar is "plain implicit" when the resolver finds its tag in its text ("quoted implicit" only
    for strings: no path resolvers). The implicit tag of a text is remembered.
    """
    from yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    tag_of = _implicit_tags()
    out: list[Any] = [DocumentStartEvent(explicit=False)]
    append = out.append

    def walk(value: Any) -> bool:
        t = type(value)
        if t is str:
            append(ScalarEvent(None, _STR, (tag_of(value) == _STR, True), value))
            return True
        if t is dict:
            append(MappingStartEvent(None, _MAP, True, flow_style=False))
            for k, v in value.items():
                if not (walk(k) and walk(v)):
                    return False
            append(MappingEndEvent())
            return True
        if t is list:
            append(SequenceStartEvent(None, _SEQ, True, flow_style=False))
            for v in value:
                if not walk(v):
                    return False
            append(SequenceEndEvent())
            return True
        if t is bool:
            text, tag = ("true" if value else "false"), _BOOL
        elif t is int:
            text, tag = str(value), _INT
        elif value is None:
            text, tag = "null", _NULL
        else:
            return False
        append(ScalarEvent(None, tag, (tag_of(text) == tag, False), text))
        return True

    if not walk(data):
        return None
    append(DocumentEndEvent(explicit=False))
    return out


@cache
def _implicit_tags() -> Any:
    """text -> the tag PyYAML's resolver reads in it as a plain scalar (remembered for short texts)."""
    from yaml.nodes import ScalarNode
    from yaml.resolver import Resolver

    resolve: Any = Resolver().resolve
    known: dict[str, str] = {}

    def tag_of(text: str) -> str:
        tag = known.get(text)
        if tag is None:
            tag = resolve(ScalarNode, text, (True, False))
            if len(text) <= 256:
                if len(known) >= 4096:
                    known.clear()
                known[text] = tag
        return str(tag)

    return tag_of
