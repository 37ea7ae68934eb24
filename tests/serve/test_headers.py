"""The security headers on every answer: every GET route of the app (found by walking it, so the routes
other parts add are covered), as admin and anonymous, errors and static files included."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from starlette.routing import Mount

from cnsec.serve.app import all_routes, create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.middleware import CSP
from tests.serve.conftest import bearer

FIXED = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
         "cross-origin-opener-policy": "same-origin"}


def header_problems(r: httpx.Response) -> list[str]:
    out = [f"{name}: {r.headers.get(name)!r}" for name, value in FIXED.items() if r.headers.get(name) != value]
    csp = r.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0] for d in csp.split(";") if d.strip()}
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        out.append("CSP allows inline or eval")
    for needed in ("default-src", "script-src", "object-src", "frame-ancestors", "base-uri"):
        if needed not in directives:
            out.append(f"CSP lacks {needed}")
    if "permissions-policy" not in r.headers or "x-request-id" not in r.headers:
        out.append("permissions-policy or x-request-id missing")
    return out


def get_paths(app: FastAPI) -> list[str]:
    """A concrete path for every GET route (each path parameter filled with a plausible value) and one
    file under every static mount."""
    paths = []
    for route in all_routes(app):
        if isinstance(route, APIRoute) and "GET" in route.methods:
            paths.append(re.sub(r"\{[^}]+\}", "x1", route.path))
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles) and route.app.directory:
            files = sorted(p for p in Path(route.app.directory).rglob("*") if p.is_file())
            if files:
                paths.append(f"{route.path}/{files[0].relative_to(route.app.directory).as_posix()}")
    return paths


def test_the_csp_forbids_inline_script_and_style_and_framing() -> None:
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "script-src 'self'" in CSP and "style-src 'self'" in CSP and "frame-ancestors 'none'" in CSP


def test_every_get_route_answers_with_the_security_headers_signed_in_or_not(
        serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    app = create_app(context=serve_ctx)
    if not any(isinstance(r, Mount) for r in all_routes(app)):  # until the dashboard mounts its own files
        (tmp_path / "app.css").write_text("body { margin: 0 }\n")
        app.mount("/ui/static", StaticFiles(directory=tmp_path), name="test-static")
    paths = get_paths(app)
    assert "/healthz" in paths and "/metrics" in paths and any(p.startswith("/ui/static/") for p in paths)
    wrong: dict[str, list[str]] = {}
    statuses = set()
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        for path in paths:
            for headers in ({}, bearer(role_users["admin"])):
                r = c.get(path, headers=headers)
                statuses.add(r.status_code)
                problems = header_problems(r)
                if r.status_code >= 500:
                    problems.append(f"status {r.status_code}")
                if problems:
                    wrong[f"GET {path} ({'admin' if headers else 'anonymous'}) {r.status_code}"] = problems
    assert wrong == {}
    assert {200, 401} <= statuses


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/v1/nothing", {}),                                   # 404
    ("POST", "/healthz", {}),                                     # 405
    ("POST", "/v1/session", {"content-type": "application/json"}),  # 422
    ("GET", "/v1/session", {"authorization": "Basic eDp5"}),      # 401
    ("GET", "/healthz", {"x-pad": "a" * (40 << 10)}),            # 431
])
def test_error_answers_carry_the_headers_too(client: TestClient, method: str, path: str,
                                            headers: dict[str, str]) -> None:
    r = client.request(method, path, headers=headers, content=b"{}" if method == "POST" else None)
    assert r.status_code >= 400 and header_problems(r) == []
    assert r.headers["cache-control"] == "no-store"


def test_static_files_may_be_cached_but_api_answers_may_not(serve_ctx: ServeContext, tmp_path: Path) -> None:
    (tmp_path / "htmx.min.js").write_text("/* vendored */\n")
    app = create_app(context=serve_ctx)
    app.mount("/ui/static", StaticFiles(directory=tmp_path), name="test-static")
    with TestClient(app) as c:
        static, api = c.get("/ui/static/htmx.min.js"), c.get("/healthz")
    assert static.status_code == 200 and header_problems(static) == []
    assert static.headers.get("cache-control") != "no-store" and api.headers["cache-control"] == "no-store"


def test_hsts_is_sent_only_under_tls(serve_ctx: ServeContext) -> None:
    from dataclasses import replace

    tls = ServeContext(replace(serve_ctx.settings, tls_cert="c.pem", tls_key="k.pem"), serve_ctx.engine,
                       serve_ctx.iam, serve_ctx.tokens)
    with TestClient(create_app(context=tls)) as c:
        assert c.get("/v1/nothing").headers["strict-transport-security"].startswith("max-age=31536000")
