"""A workload seen through its pod spec: what most Kubernetes checks look at."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cnsec.assess.loaders.k8s import K8sResource, pod_spec_path

Path = tuple[str | int, ...]


@dataclass(slots=True)
class Container:
    name: str
    spec: dict[str, Any]
    path: Path  # path of this container inside the resource document
    init: bool
    ephemeral: bool = False

    @property
    def security_context(self) -> dict[str, Any]:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    @property
    def image(self) -> str:
        v = self.spec.get("image")
        return v if isinstance(v, str) else ""

    def at(self, *rest: str | int) -> Path:
        return (*self.path, *rest)


@dataclass(slots=True)
class Workload:
    res: K8sResource
    pod: dict[str, Any]
    pod_path: Path
    containers: list[Container]

    @property
    def kind(self) -> str:
        return self.res.kind

    @property
    def pod_security_context(self) -> dict[str, Any]:
        sc = self.pod.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    def pod_at(self, *rest: str | int) -> Path:
        return (*self.pod_path, *rest)

    @property
    def template_metadata(self) -> dict[str, Any]:
        if self.res.kind == "Pod":
            return self.res.metadata
        md = self.res.get(*self.pod_path[:-1], "metadata")
        return md if isinstance(md, dict) else {}

    @property
    def pod_labels(self) -> dict[str, Any]:
        v = self.template_metadata.get("labels")
        return v if isinstance(v, dict) else {}

    @property
    def pod_annotations(self) -> dict[str, Any]:
        v = self.template_metadata.get("annotations")
        out = dict(self.res.annotations)
        if isinstance(v, dict):
            out.update(v)
        return out

    def effective(self, container: Container, key: str) -> Any:
        """A securityContext field as Kubernetes applies it: the container's, else the pod's."""
        sc = container.security_context
        if key in sc and sc[key] is not None:
            return sc[key]
        return self.pod_security_context.get(key)


def as_workload(res: K8sResource) -> Workload | None:
    path = pod_spec_path(res)
    if path is None:
        return None
    pod = res.get(*path)
    if not isinstance(pod, dict):
        return None
    containers: list[Container] = []
    for field_name, init, eph in (("initContainers", True, False), ("containers", False, False),
                                  ("ephemeralContainers", False, True)):
        items = pod.get(field_name)
        if not isinstance(items, list):
            continue
        for i, spec in enumerate(items):
            if isinstance(spec, dict):
                name = str(spec["name"]) if "name" in spec else f"#{i}"
                containers.append(Container(name, spec, (*path, field_name, i), init, eph))
    return Workload(res, pod, path, containers)


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
    """YAML text for a fix snippet: exactly ``yaml.dump(..., sort_keys=False, default_flow_style=False)``
    with libyaml's C emitter, and nodes built by :func:`_dumper` (see there why)."""
    import yaml

    return str(yaml.dump(_plain(obj), Dumper=_dumper(), sort_keys=False, default_flow_style=False))


def _plain(value: Any) -> Any:
    """A copy with string keys whose every dict and list is a fresh object, seen once in the tree."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@cache
def _dumper() -> type:
    """PyYAML's safe dumper with a faster representer and resolver, producing the same text.

    ``CSafeDumper`` emits in C but represents in Python, generically: per object an alias check,
    the type's MRO, a representer lookup; and libyaml calls back the regex resolver twice per
    scalar. For what :func:`_plain` returns, the nodes are built here directly, the same nodes
    ``SafeRepresenter`` builds: its alias bookkeeping finds nothing to share in a tree whose
    dicts and lists are all distinct objects, and scalars are never aliased. Exact types only (a
    ``dict`` subclass, a float, bytes, a set take the inherited path). The implicit tag of a plain
    scalar depends on its text alone (no path resolvers), so it is remembered, like the loader does;
    a quoted one has none.
    """
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    base: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    str_tag, int_tag, bool_tag, null_tag = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null"))
    map_tag, seq_tag = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
    tags: dict[str, str] = {}  # plain scalar text -> its implicit tag

    class FixDumper(base):  # type: ignore[misc]
        def represent_data(self, data: Any) -> Any:
            t = type(data)
            node: Any
            if t is str:
                return ScalarNode(str_tag, data)
            if t is dict and not self.sort_keys:
                rep = self.represent_data
                node = MappingNode(map_tag, [(rep(k), rep(v)) for k, v in data.items()])
            elif t is list:
                rep = self.represent_data
                node = SequenceNode(seq_tag, [rep(v) for v in data])
            elif t is bool:
                return ScalarNode(bool_tag, "true" if data else "false")
            elif t is int:
                return ScalarNode(int_tag, str(data))
            elif data is None:
                return ScalarNode(null_tag, "null")
            else:
                return super().represent_data(data)
            node.flow_style = self.default_flow_style if self.default_flow_style is not None else all(
                isinstance(n, ScalarNode) and not n.style for pair in node.value
                for n in (pair if isinstance(pair, tuple) else (pair,)))
            return node

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not ScalarNode or self.yaml_path_resolvers or not isinstance(value, str):
                return super().resolve(kind, value, implicit)
            if not implicit[0]:  # quoted: no implicit resolver applies
                return self.DEFAULT_SCALAR_TAG
            tag = tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(tags) < 4096 and len(value) <= 256:
                    tags[value] = tag
            return tag

    return FixDumper
