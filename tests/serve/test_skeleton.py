"""The server's frame: credentials, the one error shape, headers, limits, and every route's declared
permission."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cnsec.serve.app import all_routes
from cnsec.serve.auth import route_permission
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from tests.serve.conftest import GOOD_PW, bearer, login


def test_health_answers_without_credentials_and_readiness_checks_the_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_every_route_declares_exactly_one_permission(app: FastAPI) -> None:
    routes = [r for r in all_routes(app) if isinstance(r, APIRoute)]
    assert any(r.path == "/v1/session" for r in routes)  # the walk sees the parts' routes
    undeclared = [(r.path, sorted(r.methods), route_permission(r)) for r in routes if len(route_permission(r)) != 1]
    assert undeclared == []


def test_the_openapi_spec_is_published_under_v1(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    assert spec["info"]["title"] == "cnsec" and "/v1/session" in spec["paths"]


def test_no_credential_is_a_json_401_with_a_bearer_challenge(client: TestClient) -> None:
    r = client.get("/v1/session")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]["code"] == "unauthenticated"


def test_a_forged_token_is_refused_without_saying_more_than_why(client: TestClient) -> None:
    r = client.get("/v1/session", headers=bearer("eyJhbGciOiJFZERTQSJ9.e30.c2ln"))
    assert r.status_code == 401 and "invalid token" in r.json()["error"]["message"]


def test_a_bearer_token_from_the_iam_store_identifies_its_user(client: TestClient, role_users: dict[str, str]) -> None:
    r = client.get("/v1/session", headers=bearer(role_users["analyst"]))
    assert r.status_code == 200
    assert r.json()["username"] == "analyst" and r.json()["roles"] == ["analyst"]


def test_a_session_login_sets_an_httponly_strict_cookie_and_returns_a_csrf_secret(
        client: TestClient, role_users: dict[str, str]) -> None:
    r = client.post("/v1/session", json={"username": "viewer", "password": GOOD_PW})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert client.get("/v1/session").json()["via"] == "session"


def test_a_wrong_password_is_401_and_does_not_say_whether_the_user_exists(
        client: TestClient, role_users: dict[str, str]) -> None:
    a = client.post("/v1/session", json={"username": "viewer", "password": "wrong"})
    b = client.post("/v1/session", json={"username": "nobody", "password": "wrong"})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"]["message"] == b.json()["error"]["message"]


def test_a_session_request_that_changes_state_needs_the_csrf_secret(
        client: TestClient, role_users: dict[str, str]) -> None:
    csrf = login(client, "viewer")
    r = client.delete("/v1/session")
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    assert client.delete("/v1/session", headers={"X-CSRF-Token": "x" + csrf}).status_code == 403
    assert client.delete("/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/v1/session").status_code == 401  # the session is gone, not only the cookie


def test_an_api_key_acts_as_its_user_until_revoked(client: TestClient, serve_ctx: ServeContext,
                                                   role_users: dict[str, str]) -> None:
    from cnsec.serve.auth import add_key, list_keys, revoke_key

    key, rec = add_key(serve_ctx, "ingest", "audit webhook")
    assert key.startswith("cnsk_") and key not in repr(list_keys(serve_ctx))
    assert client.get("/v1/session", headers=bearer(key)).json()["username"] == "ingest"
    assert revoke_key(serve_ctx, rec.id)
    assert client.get("/v1/session", headers=bearer(key)).status_code == 401


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    r = client.get("/healthz")
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in r.headers  # only under TLS


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(serve_ctx: ServeContext) -> None:
    from cnsec.serve.app import create_app

    small = ServeContext(Settings(db_url=serve_ctx.settings.db_url, max_body=1000), serve_ctx.engine,
                         serve_ctx.iam, serve_ctx.tokens)
    with TestClient(create_app(context=small)) as c:
        r = c.post("/v1/session", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
