"""Helpers shared by the Terraform checks: references between resources, HCL truthiness, policies.

python-hcl2 hands attribute values over as Python values where they are literals (``True``, ``22``,
``"0.0.0.0/0"``) and as ``"${…}"`` strings where they are expressions. Checks must cope with both:
a value that is an expression is unknown, and an unknown value is never reported as a problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from cnsec.assess.loaders.terraform import TfResource

_HEREDOC = re.compile(r"^<<-?\s*([A-Za-z_][A-Za-z0-9_]*)\n(.*)\n\s*\1\s*$", re.DOTALL)
_JSONENCODE = re.compile(r"^\$\{\s*jsonencode\((.*)\)\s*\}$", re.DOTALL)


def is_expr(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def truth(value: Any) -> bool | None:
    """True/False for a literal boolean (``true``, ``"true"``), None when unknown or absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, list) and len(value) == 1:
        return truth(value[0])
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def others(ctx: object, *types: str) -> Iterator[TfResource]:
    inv = getattr(ctx, "inventory", None)
    if inv is None:
        return
    for r in inv.terraform:
        if r.type in types and r.block == "resource":
            yield r


def refers_to(value: Any, target: TfResource) -> bool:
    """Whether an attribute (``bucket = aws_s3_bucket.x.id``) points at ``target``.

    A literal name matches the target's own ``bucket``/``name`` attribute when that is a literal too.
    """
    text = str(value) if value is not None else ""
    if re.search(rf"(?<![\w.-]){re.escape(target.type)}\.{re.escape(target.name)}(?![\w-])", text):
        return True
    for own in ("bucket", "name", "id"):
        v = target.attrs.get(own)
        if isinstance(v, str) and v and not is_expr(v) and text == v:
            return True
    return False


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    return value


def policy_document(value: Any) -> dict[str, Any] | None:
    """An IAM policy from a JSON string, a heredoc, ``jsonencode({...})`` or an already-parsed map."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _HEREDOC.match(text)
    if m:
        text = m.group(2).strip()
    m = _JSONENCODE.match(text)
    if m:
        from cnsec.assess.loaders import hcl as fast_hcl

        source = "x = " + m.group(1) + "\n"
        try:  # the loader's own fast parser: python-hcl2's dict, without importing lark (0.14 s)
            parsed = fast_hcl.loads(source)
        except fast_hcl.Unsupported:
            import hcl2

            try:
                parsed = hcl2.loads(source)
            except Exception:  # lark raises many types; an expression we cannot read is unknown
                return None
        doc = _clean(parsed.get("x"))
        return doc if isinstance(doc, dict) else None
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def statements(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    st = doc.get("Statement")
    return [s for s in as_list(st) if isinstance(s, dict)]


def open_cidr(value: Any) -> bool:
    """Whether a CIDR list/string contains the whole IPv4 or IPv6 internet."""
    return any(isinstance(c, str) and c.strip() in ("0.0.0.0/0", "::/0", "*", "Internet", "Any")
               for c in as_list(value))


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def nth_block_line(r: TfResource, ctx: object, name: str, n: int) -> int:
    """The line of the ``n``-th ``name { … }`` block in ``r`` (the loader records only the first)."""
    inv = getattr(ctx, "inventory", None)
    lines = inv.lines(r.file) if inv is not None else []
    pattern = re.compile(rf"^[ \t]*{re.escape(name)}[ \t]*\{{")
    seen = 0
    for i in range(max(r.line - 1, 0), min(r.end_line, len(lines))):
        if pattern.match(lines[i]):
            if seen == n:
                return i + 1
            seen += 1
    return r.line_of(name)
