"""Helpers shared by the Azure checks: one setting of a resource read the way the azurerm provider does.

Most Azure checks ask one question of one attribute (``local_account_disabled``,
``default_node_pool.host_encryption_enabled``): absent means the provider's default, a literal is
judged, an expression we cannot evaluate is unknown and never a finding. This is that question, once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, Literal

from cnsec.assess.checks.base import Hit
from cnsec.assess.checks.terraform._tf import is_expr, others, refers_to, truth
from cnsec.assess.loaders.terraform import TfResource

State = Literal["set", "absent", "unknown"]
#: Judges a literal value: True when it is good, False when bad, None when it cannot tell.
Judge = Callable[[Any], bool | None]


def setting(r: TfResource, *path: str) -> tuple[State, Any]:
    """The value at ``path`` (attributes and nested blocks), and whether it is set, absent or unknown.

    A nested block made by a ``dynamic`` block of unknown size is unknown, and so is anything inside it.
    """
    if path and path[0] in r.unknown_blocks:
        return "unknown", None
    node: Any = r.attrs
    for step in path:
        if isinstance(node, list):
            if not node:
                return "absent", None
            node = node[0]
        if is_expr(node):
            return "unknown", None
        if not isinstance(node, dict):
            return "unknown", None
        if step not in node:
            return "absent", None
        node = node[step]
    if node is None or node == []:
        return "absent", None
    if is_expr(node):
        return "unknown", None
    if isinstance(node, list) and len(node) == 1:  # one value, or one nested block
        node = node[0]
        if is_expr(node):
            return "unknown", None
    return "set", node


def is_true(value: Any) -> bool | None:
    return truth(value)


def is_false(value: Any) -> bool | None:
    t = truth(value)
    return None if t is None else not t


def one_of(*good: str) -> Judge:
    wanted = {g.lower() for g in good}

    def judge(value: Any) -> bool | None:
        return value.lower() in wanted if isinstance(value, str) else None

    return judge


def not_one_of(*bad: str) -> Judge:
    unwanted = {b.lower() for b in bad}

    def judge(value: Any) -> bool | None:
        return value.lower() not in unwanted if isinstance(value, str) else None

    return judge


def anything(value: Any) -> bool | None:
    """Any value at all is good (``disk_encryption_set_id = …``): only absence is a problem."""
    return True


def expect(r: TfResource, *path: str, good: Judge, default: Any, want: str, fix: str) -> Iterator[Hit]:
    """A hit when the setting at ``path`` is bad, or absent while the provider's ``default`` is bad.

    ``default`` None means absence itself is the problem (there is no safe default); ``want`` says
    what the setting should be, for the message.
    """
    state, value = setting(r, *path)
    dotted = ".".join(path)
    if state == "unknown":
        return
    if state == "absent":
        if default is not None and good(default) is not False:
            return
        yield Hit(f"{r.address} does not set {dotted} ({want})", line=r.line_of(path[0]), location=dotted,
                  fix=fix)
        return
    if good(value) is False:
        yield Hit(f"{r.address} sets {dotted} = {value!r} ({want})", line=r.line_of(path[0]), location=dotted,
                  fix=fix)


def neighbours(ctx: object, r: TfResource, *types: str) -> Iterator[TfResource]:
    """Resources of ``types`` in the same module instance as ``r`` (same folder, same module path).

    A reference such as ``azurerm_subnet.example.id`` means the block of that name in the same module;
    one of the same name in a sibling folder (another example, another module) is a different resource.
    """
    folder = os.path.dirname(r.file)
    for other in others(ctx, *types):
        if other.module == r.module and os.path.dirname(other.file) == folder:
            yield other


def linked(ctx: object, target: TfResource, types: tuple[str, ...], *attrs: str | tuple[str, ...]) -> bool | None:
    """Whether another resource of ``types`` points at ``target`` through one of ``attrs``.

    None when some such resource's pointer is an expression we cannot resolve to a resource (it may
    be the one): a missing link must then not be reported.
    """
    unsure = False
    for other in neighbours(ctx, target, *types):
        for attr in attrs:
            value = other.get(*attr) if isinstance(attr, tuple) else other.attrs.get(attr)
            if value is None:
                continue
            if refers_to(value, target):
                return True
            text = str(value)
            if is_expr(text) and not _names_a_resource(text):
                unsure = True
    return None if unsure else False


def _names_a_resource(text: str) -> bool:
    """``${azurerm_key_vault.kv.id}`` names a resource; ``${var.key_vault_id}`` does not."""
    import re

    return re.search(r"(?<![\w.])(azurerm|azapi)_[\w-]+\.[\w-]+", text) is not None


#: Source prefixes that mean "the whole internet" in an NSG rule.
INTERNET = frozenset({"*", "0.0.0.0", "0.0.0.0/0", "::/0", "/0", "internet", "any"})  # noqa: S104


def _port_in(spec: Any, port: int) -> bool:
    text = str(spec).strip()
    if text == "*" or text == str(port):
        return True
    lo, sep, hi = text.partition("-")
    return bool(sep) and lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= port <= int(hi)


def open_inbound_rules(r: TfResource, port: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, rule) of the NSG rules in ``r`` that allow TCP ``port`` inbound from the internet.

    ``r`` is an ``azurerm_network_security_rule`` or an ``azurerm_network_security_group`` with inline
    ``security_rule`` blocks; a rule whose fields are expressions is unknown and not yielded.
    """
    if r.type == "azurerm_network_security_group":
        if "security_rule" in r.unknown_blocks:
            return
        rules = r.blocks("security_rule")
    else:
        rules = [r.attrs]
    for n, rule in enumerate(rules):
        fields = [rule.get(k) for k in ("access", "direction", "protocol")]
        if any(not isinstance(f, str) or is_expr(f) for f in fields):
            continue
        access, direction, protocol = (str(f).lower() for f in fields)
        if access != "allow" or direction != "inbound" or protocol not in ("tcp", "*"):
            continue
        ports = [rule.get("destination_port_range"), *(rule.get("destination_port_ranges") or [])]
        sources = [rule.get("source_address_prefix"), *(rule.get("source_address_prefixes") or [])]
        if not any(p is not None and not is_expr(p) and _port_in(p, port) for p in ports):
            continue
        if any(isinstance(s, str) and not is_expr(s) and s.strip().lower() in INTERNET for s in sources):
            yield n, rule
