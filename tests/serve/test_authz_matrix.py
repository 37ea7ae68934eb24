"""Every route of the API × every built-in role: the answer (403 or not) is the one this table says.

The table is written out here on purpose, from the API contract (docs/serve.md), rather than derived
from the roles: a change to a role or to a route's declared permission that changes who may do what
fails this test until the table is changed with it. The routes are walked from the app itself, so a
route added later is checked too, and one whose permission is missing from the table fails.
"""

from __future__ import annotations

import re
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from cnsec.iam import BUILTIN_ROLES
from cnsec.serve.auth import AUTHENTICATED, PUBLIC, route_permission
from tests.serve.conftest import bearer

EVERYONE = frozenset(BUILTIN_ROLES)
READERS = frozenset({"admin", "viewer", "analyst", "responder"})

#: permission -> the built-in roles that hold it (and every other role is refused with 403)
ALLOWED: dict[str, frozenset[str]] = {
    PUBLIC: EVERYONE,
    AUTHENTICATED: EVERYONE,
    "assessments:read": READERS,
    "assessments:create": frozenset({"admin", "analyst"}),
    "findings:read": READERS,
    "findings:triage": frozenset({"admin", "analyst"}),
    "alerts:read": READERS,
    "alerts:ack": frozenset({"admin", "analyst", "responder"}),
    "responses:read": READERS,
    "responses:plan": frozenset({"admin", "analyst", "responder"}),
    "responses:approve": frozenset({"admin", "responder"}),
    "responses:apply": frozenset({"admin", "responder"}),
    "audit:read": frozenset({"admin"}),
    "users:read": frozenset({"admin"}),
    "users:admin": frozenset({"admin"}),
    "ingest:write": frozenset({"admin", "ingest"}),
    "metrics:read": READERS,
}


def routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path with its parameters filled, permission) for every API route of the app.

    FastAPI (0.16x) keeps an included router as one lazy entry of ``app.routes``; ``iter_route_contexts``
    gives each route as served: its full path, and its dependencies with the router's own."""
    out = []
    for rc in iter_route_contexts(app.routes):
        if not isinstance(rc.original_route, APIRoute):
            continue
        perms = route_permission(cast(APIRoute, rc))
        assert len(perms) == 1, (rc.path, perms)
        path = re.sub(r"\{[^}]+\}", "1", str(rc.path))
        out.extend((method, path, perms[0]) for method in sorted(set(rc.methods or ()) - {"HEAD"}))
    assert len(out) >= 30  # the walk sees the routes (app.routes alone shows only the routers)
    return out


def test_every_route_s_permission_is_in_the_table(app: FastAPI) -> None:
    missing = sorted({(p, perm) for _, p, perm in routes(app) if perm not in ALLOWED})
    assert missing == [], "routes whose permission the authz table does not know: add it to ALLOWED"


def test_the_table_holds_every_permission_of_the_api_contract() -> None:
    assert set(ALLOWED) == {PUBLIC, AUTHENTICATED, "assessments:read", "assessments:create", "findings:read",
                            "findings:triage", "alerts:read", "alerts:ack", "responses:read", "responses:plan",
                            "responses:approve", "responses:apply", "audit:read", "users:read", "users:admin",
                            "ingest:write", "metrics:read"}


def test_every_route_answers_each_built_in_role_as_the_table_says(
        app: FastAPI, client: TestClient, role_users: dict[str, str]) -> None:
    wrong = []
    checked = 0
    for method, path, perm in routes(app):
        allowed = ALLOWED.get(perm, frozenset())
        for role, token in role_users.items():
            r = client.request(method, path, headers=bearer(token),
                               **({} if method in ("GET", "DELETE") else {"json": {}}))
            denied = r.status_code == 403 and r.json().get("error", {}).get("code") == "forbidden"
            if denied == (role in allowed) or r.status_code in (401, 500):
                wrong.append(f"{method} {path} [{perm}] as {role}: {r.status_code} {r.text[:120]}")
            checked += 1
    assert wrong == []
    assert checked >= 30 * len(role_users)


def test_every_route_but_the_public_ones_needs_a_credential(app: FastAPI, client: TestClient) -> None:
    open_routes = []
    for method, path, perm in routes(app):
        if perm == PUBLIC:
            continue
        r = client.request(method, path, **({} if method in ("GET", "DELETE") else {"json": {}}))
        if r.status_code != 401:
            open_routes.append(f"{method} {path}: {r.status_code}")
    assert open_routes == []


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_the_table_is_what_the_iam_store_decides_for_each_role(serve_ctx: object, role: str,
                                                               role_users: dict[str, str]) -> None:
    from cnsec.serve.auth import allowed

    for perm, roles in ALLOWED.items():
        if perm in (PUBLIC, AUTHENTICATED):
            continue
        assert allowed(serve_ctx, role, perm) == (role in roles), (role, perm)  # type: ignore[arg-type]
