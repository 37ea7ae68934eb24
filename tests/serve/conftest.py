"""Fixtures for the server: a store on SQLite (and PostgreSQL with CNSEC_TEST_POSTGRES), the app over it,
one user per built-in role with a bearer token, and a test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cnsec.iam import BUILTIN_ROLES
from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from cnsec.serve.startup import prepare
from tests.iam.conftest import GOOD_PW, db_url, fast_ph

__all__ = ["GOOD_PW", "db_url", "fast_ph"]


@pytest.fixture
def serve_ctx(db_url: str, fast_ph: object) -> ServeContext:
    ctx = ServeContext.open(Settings(db_url=db_url, ingest_worker="thread"), ph=fast_ph)
    prepare(ctx)
    return ctx


@pytest.fixture
def app(serve_ctx: ServeContext) -> FastAPI:
    return create_app(context=serve_ctx)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def role_users(serve_ctx: ServeContext) -> dict[str, str]:
    """One user per built-in role (named after it, password GOOD_PW): role -> bearer access token."""
    out = {}
    for role in BUILTIN_ROLES:
        serve_ctx.iam.add_user(role, GOOD_PW, [role])
        out[role] = serve_ctx.tokens.issue(role).access_token
    serve_ctx.roles_changed()
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str = GOOD_PW, **extra: Any) -> str:
    """Log the client in through the API; the session's CSRF secret."""
    r = client.post("/v1/session", json={"username": username, "password": password, **extra})
    assert r.status_code == 200, r.text
    csrf: str = r.json()["csrf"]
    return csrf
