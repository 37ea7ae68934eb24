"""Role-based authorization for cnsec's own users: ``resource:action`` permissions with wildcards,
role inheritance, explicit deny over allow, default deny, and decisions that say which rule decided.

Roles are compiled once into an index per distinct set of roles, so a decision is a handful of
dictionary lookups that return a pre-built :class:`Decision` (no allocation on the hot path):

* ``action → table`` (the ``*`` action's rules are folded into every named action's table);
* in a table, ``exact resource → decision`` (every broader pattern already folded in), then
  ``resource type → decision``, then the table's ``*`` decision.

Resource patterns: ``*`` (anything), ``keys`` or ``keys/*`` (every key), ``keys/app-data`` (one),
``keys/app-*`` (a name prefix). Action patterns: a name, or ``*``. A resource is ``type/name`` or
just ``type``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cnsec.errors import UsageError
from cnsec.model.identity import Permission, Role

ALLOW = "allow"
DENY = "deny"

_ANY, _TYPE, _PREFIX, _EXACT = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Rule:
    """A permission together with the role that carries it (after inheritance)."""

    role: str
    resource: str
    action: str
    effect: str
    via: str | None = None  # the role the permission was inherited from, if not ``role`` itself

    def __str__(self) -> str:
        where = f"role {self.role}" if not self.via else f"role {self.via} (inherited by {self.role})"
        return f"{self.effect} {self.resource}:{self.action} in {where}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: Rule | None
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def parse_permission(text: str, effect: str = ALLOW) -> Permission:
    """``resource:action`` → :class:`Permission`; a :class:`UsageError` says what is wrong."""
    if not isinstance(text, str) or ":" not in text:
        raise UsageError(f"permission {text!r} must look like resource:action (e.g. findings:read)")
    resource, action = text.rsplit(":", 1)
    resource, action = resource.strip(), action.strip()
    if not resource or not action:
        raise UsageError(f"permission {text!r} must look like resource:action (e.g. findings:read)")
    if "*" in action and action != "*":
        raise UsageError(f"permission {text!r}: an action is a name or '*'")
    _pattern_kind(resource, text)
    if effect not in (ALLOW, DENY):
        raise UsageError(f"permission {text!r}: effect must be allow or deny")
    return Permission(resource=resource, action=action, effect=effect)


def _pattern_kind(resource: str, original: str = "") -> tuple[int, str, str]:
    """(kind, type, key) of a resource pattern."""
    if resource == "*":
        return _ANY, "", ""
    typ, _, name = resource.partition("/")
    if "*" in typ:
        raise UsageError(f"permission {original or resource!r}: '*' is allowed only as the whole resource "
                         f"or at the end of the name (keys/app-*)")
    if not name or name == "*":
        return _TYPE, typ, typ
    if "*" in name[:-1]:
        raise UsageError(f"permission {original or resource!r}: '*' is allowed only at the end of the name")
    if name.endswith("*"):
        return _PREFIX, typ, f"{typ}/{name[:-1]}"
    return _EXACT, typ, resource


def _specificity(rule: Rule) -> tuple[int, int, int]:
    kind, _, key = _pattern_kind(rule.resource)
    return (kind, len(key), 1 if rule.action != "*" else 0)


def rule_matches(rule: Rule, action: str, resource: str) -> bool:
    if rule.action != "*" and rule.action != action:
        return False
    kind, typ, key = _pattern_kind(rule.resource)
    if kind == _ANY:
        return True
    rtype = resource.partition("/")[0]
    if kind == _TYPE:
        return rtype == typ
    if kind == _PREFIX:
        return resource.startswith(key)
    return resource == key


def evaluate(rules: Iterable[Rule], action: str, resource: str) -> Decision:
    """The reference decision (linear scan): deny over allow, the most specific rule explains it."""
    deny: Rule | None = None
    allow: Rule | None = None
    for r in rules:
        if not rule_matches(r, action, resource):
            continue
        if r.effect == DENY:
            if deny is None or _specificity(r) > _specificity(deny):
                deny = r
        elif allow is None or _specificity(r) > _specificity(allow):
            allow = r
    if deny is not None:
        return Decision(False, deny, f"denied by {deny}")
    if allow is not None:
        return Decision(True, allow, f"allowed by {allow}")
    return Decision(False, None, f"denied: no rule grants {action} on {resource} (default deny)")


def expand_roles(roles: Mapping[str, Role], names: Iterable[str]) -> list[Rule]:
    """Every rule of ``names`` and their ancestors; an unknown parent or a cycle is a UsageError."""
    out: list[Rule] = []
    for top in names:
        seen: set[str] = set()
        stack: list[tuple[str, tuple[str, ...]]] = [(top, ())]
        while stack:
            name, path = stack.pop()
            if name in path:
                raise UsageError(f"role inheritance cycle: {' -> '.join((*path, name))}")
            if name in seen:
                continue
            seen.add(name)
            role = roles.get(name)
            if role is None:
                raise UsageError(f"unknown role {name!r}" + (f" (parent of {path[-1]!r})" if path else ""))
            for p in role.permissions:
                out.append(Rule(top, p.resource, p.action, p.effect, None if name == top else name))
            for parent in role.parents:
                stack.append((parent, (*path, name)))
    return out


@dataclass(slots=True)
class _Table:
    exact: dict[str, Decision] = field(default_factory=dict)
    types: dict[str, Decision] = field(default_factory=dict)
    prefixed: dict[str, list[Rule]] = field(default_factory=dict)  # type → all rules (slow path)
    default: Decision | None = None  # (never test a Decision for truth here: a deny is falsy)
    action: str = "*"


#: The decision when no rule matches (shared, so the hot path allocates nothing).
DEFAULT_DENY = Decision(False, None, "denied: no rule matches (default deny)")


def _folded(rules: list[Rule], action: str, resource: str) -> Decision:
    d = evaluate(rules, action, resource)
    return d if d.rule is not None else DEFAULT_DENY


def _compile_table(rules: list[Rule], action: str) -> _Table:
    table = _Table(action=action)
    probe = action if action != "*" else "\x00any-action"
    for r in rules:
        kind, typ, key = _pattern_kind(r.resource)
        if kind == _EXACT:
            if key not in table.exact:
                table.exact[key] = _folded(rules, probe, key)
        elif kind == _TYPE:
            if typ not in table.types:
                table.types[typ] = _folded(rules, probe, typ + "/\x00")
        elif kind == _PREFIX:
            table.prefixed.setdefault(typ, [])
    for typ in table.prefixed:
        table.prefixed[typ] = list(rules)
    table.default = _folded(rules, probe, "\x00/\x00")
    return table


class CompiledRoles:
    """The index for one set of roles: ``decide`` is a few dict lookups."""

    __slots__ = ("rules", "star", "tables")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        actions = {r.action for r in rules if r.action != "*"}
        star_rules = [r for r in rules if r.action == "*"]
        self.tables: dict[str, _Table] = {
            a: _compile_table([r for r in rules if r.action in (a, "*")], a) for a in actions}
        self.star = _compile_table(star_rules, "*")

    def decide(self, action: str, resource: str) -> Decision:
        table = self.tables.get(action) or self.star
        d = table.exact.get(resource)
        if d is not None:
            return d
        typ = resource.partition("/")[0]
        if table.prefixed and typ in table.prefixed:
            return _folded(table.prefixed[typ], action, resource)
        d = table.types.get(typ)
        if d is not None:
            return d
        d = table.default
        return d if d is not None else DEFAULT_DENY


class Authorizer:
    """Users → roles → compiled index. Users who share the same roles share one compiled index."""

    def __init__(self, roles: Mapping[str, Role], user_roles: Mapping[str, Iterable[str]],
                 disabled: Iterable[str] = ()) -> None:
        self.roles = dict(roles)
        self._by_roleset: dict[frozenset[str], CompiledRoles] = {}
        self._users: dict[str, CompiledRoles] = {}
        self._disabled = set(disabled)
        for user, names in user_roles.items():
            key = frozenset(names)
            compiled = self._by_roleset.get(key)
            if compiled is None:
                compiled = CompiledRoles(expand_roles(self.roles, sorted(key)))
                self._by_roleset[key] = compiled
            self._users[user] = compiled

    def decide(self, user: str, action: str, resource: str) -> Decision:
        compiled = self._users.get(user)
        if compiled is None:
            return Decision(False, None, f"denied: unknown user {user!r}")
        if user in self._disabled:
            return Decision(False, None, f"denied: user {user!r} is disabled")
        return compiled.decide(action, resource)

    def rules_for(self, user: str) -> list[Rule]:
        compiled = self._users.get(user)
        return list(compiled.rules) if compiled else []
