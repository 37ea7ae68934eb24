from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnsec.errors import UsageError
from cnsec.iam.authz import DENY, Authorizer, CompiledRoles, evaluate, expand_roles, parse_permission
from cnsec.model.identity import Role


def _roles() -> dict[str, Role]:
    return {
        "auditor": Role("auditor", [parse_permission("findings:read"), parse_permission("reports:*"),
                                    parse_permission("keys:*", DENY)]),
        "admin": Role("admin", [parse_permission("*:*")], ["auditor"]),
        "ops": Role("ops", [parse_permission("keys/app-*:read"), parse_permission("keys/app-secret:read", DENY)]),
    }


def _authz() -> Authorizer:
    return Authorizer(_roles(), {"mary": ["admin"], "john": ["auditor"], "olga": ["ops"], "nobody": []})


def test_allow_names_the_deciding_rule() -> None:
    d = _authz().decide("john", "read", "findings/42")
    assert d.allowed and d.rule is not None and str(d.rule) == "allow findings:read in role auditor"


def test_explicit_deny_overrides_allow_even_through_inheritance() -> None:
    d = _authz().decide("mary", "delete", "keys/app-data")
    assert not d.allowed and d.rule is not None and d.rule.via == "auditor"


def test_default_is_deny() -> None:
    d = _authz().decide("john", "write", "findings/42")
    assert not d.allowed and d.rule is None and "default deny" in d.reason


def test_unknown_user_is_denied() -> None:
    assert not _authz().decide("eve", "read", "findings/1").allowed


def test_wildcard_action_matches_any_action() -> None:
    assert _authz().decide("john", "export", "reports/q3").allowed


def test_name_prefix_pattern_matches_only_that_prefix() -> None:
    a = _authz()
    assert a.decide("olga", "read", "keys/app-data").allowed
    assert not a.decide("olga", "read", "keys/db-root").allowed


def test_narrower_deny_beats_broader_allow() -> None:
    assert not _authz().decide("olga", "read", "keys/app-secret").allowed


def test_disabled_user_is_denied() -> None:
    a = Authorizer(_roles(), {"mary": ["admin"]}, disabled=["mary"])
    assert not a.decide("mary", "read", "findings/1").allowed


def test_inheritance_cycle_is_reported() -> None:
    roles = {"a": Role("a", [], ["b"]), "b": Role("b", [], ["a"])}
    with pytest.raises(UsageError, match="cycle"):
        expand_roles(roles, ["a"])


@pytest.mark.parametrize("bad", ["findings", "find*ings:read", "findings:re*d", ":read", "keys/a*b:read"])
def test_malformed_permission_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_permission(bad)


_types = st.sampled_from(["keys", "findings", "reports"])
_names = st.sampled_from(["app-data", "app-secret", "db", "x"])
_actions = st.sampled_from(["read", "write", "delete", "*"])


@st.composite
def _perm(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    t, n = draw(_types), draw(_names)
    res = {0: "*", 1: t, 2: f"{t}/{n}", 3: f"{t}/{n[:2]}*"}[kind]
    return f"{res}:{draw(_actions)}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_perm(), st.booleans()), min_size=1, max_size=8),
       _types, _names, st.sampled_from(["read", "write", "delete", "other"]))
def test_compiled_index_agrees_with_the_reference_evaluation(perms: list[tuple[str, bool]], t: str, n: str,
                                                             action: str) -> None:
    role = Role("r", [parse_permission(p, DENY if deny else "allow") for p, deny in perms])
    rules = expand_roles({"r": role}, ["r"])
    for resource in (f"{t}/{n}", t):
        fast = CompiledRoles(rules).decide(action, resource)
        ref = evaluate(rules, action, resource)
        assert fast.allowed == ref.allowed
        assert (fast.rule is None) == (ref.rule is None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_perm(), st.booleans()), min_size=1, max_size=6),
       st.lists(st.tuples(_perm(), st.booleans()), min_size=1, max_size=6),
       _types, _names, st.sampled_from(["read", "write", "delete", "other"]))
def test_users_with_several_roles_get_the_combined_decision(a: list[tuple[str, bool]], b: list[tuple[str, bool]],
                                                            t: str, n: str, action: str) -> None:
    roles = {name: Role(name, [parse_permission(p, DENY if deny else "allow") for p, deny in perms])
             for name, perms in (("a", a), ("b", b))}
    authz = Authorizer(roles, {"u": ["a", "b"]})
    ref = evaluate(expand_roles(roles, ["a", "b"]), action, f"{t}/{n}")
    got = authz.decide("u", action, f"{t}/{n}")
    assert got.allowed == ref.allowed
    assert (got.rule is None) == (ref.rule is None)
