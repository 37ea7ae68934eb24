"""Reading one setting of an AWS resource for the checks CNSEC-TF-100..199.

A setting is one of three things: **known** (a literal, or an expression the loader evaluated from
variable defaults and locals), **unset** (absent or ``null``: the provider's default applies) or
**unknown** (an expression that could not be evaluated, or inside a ``dynamic`` block whose number
is unknown). A check fails a known bad value or an unset setting whose default is bad, and never an
unknown one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit
from cnsec.assess.checks.terraform._tf import is_expr, others, refers_to, truth
from cnsec.assess.loaders.terraform import TfResource


class Unknown:
    """The value of a setting that cannot be known here."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN = Unknown()


def setting(r: TfResource, *path: str) -> Any:
    """The value at ``path`` (blocks by name, then the attribute): None when unset, :data:`UNKNOWN`
    when it cannot be known. A nested block counts by its first instance, as the provider reads
    single blocks."""
    node: Any = r.attrs
    for n, step in enumerate(path):
        if n < len(path) - 1 and step in r.unknown_blocks and node is r.attrs:
            return UNKNOWN
        if isinstance(node, list):
            node = node[0] if node else None
        if node is None:
            return None
        if is_expr(node):
            return UNKNOWN
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    if is_expr(node) or (isinstance(node, list) and any(is_expr(x) for x in node)):
        return UNKNOWN
    return node


def is_on(value: Any) -> bool | None:
    """True or False for a known boolean (unset is False), None when unknown."""
    if value is UNKNOWN:
        return None
    if value is None:
        return False
    t = truth(value)
    return t if t is not None else None


def off(r: TfResource, *path: str) -> bool:
    """Whether the boolean at ``path`` is known to be off: literally false, or unset."""
    return is_on(setting(r, *path)) is False


def unset(r: TfResource, *path: str) -> bool:
    """Whether the setting is absent, null or empty (and not possibly made by an unknown block)."""
    value = setting(r, *path)
    return value is None or value == "" or value == [] or value == {}


def where(r: TfResource, *path: str) -> int:
    """The line to point at: the setting's block or attribute when written, else the resource."""
    return r.line_of(path[0]) if path else r.line


def require_on(r: TfResource, path: tuple[str, ...], what: str, fix: str) -> Iterator[Hit]:
    """One hit when the boolean at ``path`` is known to be off (false or unset)."""
    if off(r, *path):
        yield Hit(f"{r.address} {what}", line=where(r, *path), location=".".join(path), fix=fix)


def require_set(r: TfResource, path: tuple[str, ...], what: str, fix: str) -> Iterator[Hit]:
    """One hit when the setting at ``path`` is known to be unset or empty."""
    if unset(r, *path):
        yield Hit(f"{r.address} {what}", line=where(r, *path), location=".".join(path), fix=fix)


def forbid_false(r: TfResource, path: tuple[str, ...], what: str, fix: str) -> Iterator[Hit]:
    """One hit when the boolean at ``path`` is literally false (unset takes the provider's good default)."""
    value = setting(r, *path)
    if value is not None and is_on(value) is False:
        yield Hit(f"{r.address} {what}", line=where(r, *path), location=".".join(path), fix=fix)


def linked(ctx: object, r: TfResource, types: tuple[str, ...], *attrs: str) -> list[TfResource]:
    """Resources of ``types`` (any type when empty) in the same module instance as ``r`` whose
    ``attrs`` (any of them; every attribute when none is named) refer to ``r``: the lifecycle
    configuration of a bucket, the flow log of a VPC. Another instance of the same module, with its
    own ``aws_s3_bucket.this``, is not taken for this one's."""
    out = []
    home = (os.path.dirname(r.file), r.module, r.via)
    inv = getattr(ctx, "inventory", None)
    candidates = others(ctx, *types) if types else (o for o in getattr(inv, "terraform", ()) if o is not r)
    for other in candidates:
        if (os.path.dirname(other.file), other.module, other.via) != home:
            continue
        values = [other.attrs.get(a) for a in attrs] if attrs else list(other.attrs.values())
        if any(refers_to(v, r) for v in values if v is not None):
            out.append(other)
    return out
