"""JSON patches that stay valid on malformed manifests (``resources: []``, ``env: "x"``, nulls).

Where a value on the way is missing or of the wrong type, the patch replaces that value with a
fresh structure holding the new one, so applying the patch always yields the intended document.
"""

from __future__ import annotations

from typing import Any

from cnsec.assess.loaders.k8s import K8sResource

Step = str | int


def _pointer(path: tuple[Step, ...]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _holds(node: Any, step: Step) -> bool:
    if isinstance(step, int):
        return isinstance(node, list) and 0 <= step < len(node)
    if step == "-":
        return isinstance(node, list)
    return isinstance(node, dict)


def set_value(res: K8sResource, path: tuple[Step, ...], value: Any) -> list[dict[str, Any]]:
    """One RFC 6902 op setting ``path`` (``-`` appends to a list) to ``value``."""
    node: Any = res.doc
    k = 0
    while k < len(path) - 1:
        step = path[k]
        child = node[step] if isinstance(node, list) and isinstance(step, int) else node.get(step)
        if not _holds(child, path[k + 1]):
            break
        node = child
        k += 1
    payload: Any = value
    for step in reversed(path[k + 1:]):
        payload = [payload] if isinstance(step, int) or step == "-" else {step: payload}
    last = path[k]
    exists = (isinstance(node, dict) and last in node) or (isinstance(node, list) and isinstance(last, int))
    return [{"op": "replace" if exists else "add", "path": _pointer(path[:k + 1]), "value": payload}]
