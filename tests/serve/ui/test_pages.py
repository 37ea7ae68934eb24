"""Every dashboard page: who may see it, what it shows, and that it carries no inline script or style."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cnsec.serve.context import ServeContext
from tests.serve.conftest import GOOD_PW, bearer, login

PAGES = ["/ui/", "/ui/findings", "/ui/assets", "/ui/risks", "/ui/plan", "/ui/alerts", "/ui/responses", "/ui/audit",
         "/ui/users"]
READERS = {"admin", "viewer", "analyst", "responder"}
#: who may open each page (the read permission of what it shows; audit and users for admins only)
MAY_SEE = {page: READERS for page in PAGES} | {"/ui/audit": {"admin"}, "/ui/users": {"admin"}}
ROLES = ["admin", "viewer", "analyst", "responder", "ingest"]
#: what a browser's navigation asks for (other clients get the API's JSON answers)
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def as_browser(token: str) -> dict[str, str]:
    return {**bearer(token), **HTML}


class InlineFinder(HTMLParser):
    """Everything the Content-Security-Policy would refuse: inline script, style elements and attributes,
    event-handler attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k: v or "" for k, v in attrs}
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not names.get("src"):
                self.problems.append("<script> without src")
            self._in_script = True
        for k, v in names.items():
            if k == "style":
                self.problems.append(f"style= on <{tag}>")
            if k.startswith("on"):
                self.problems.append(f"{k}= on <{tag}>")
            if k in ("href", "src", "action", "formaction") and v.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
            if k.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{k}= (htmx evaluates it) on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


def test_the_inline_finder_sees_what_the_csp_refuses() -> None:
    bad = ('<p style="color:red">x</p><script>alert(1)</script><style>p{}</style><a href="javascript:x()">y</a>'
           '<button onclick="f()">b</button><div hx-on:click="g()"></div>')
    assert len(inline_problems(bad)) == 7  # the script is counted twice: no src, and text
    assert inline_problems('<script src="/ui/static/cnsec.js" defer></script><p class="x">ok</p>') == []


@pytest.mark.parametrize("role", ROLES)
def test_each_page_answers_200_to_a_role_that_may_read_it_and_an_html_403_otherwise(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any], role: str) -> None:
    for page in PAGES:
        r = client.get(page, headers=as_browser(role_users[role]), follow_redirects=False)
        expected = 200 if role in MAY_SEE[page] else 403
        assert r.status_code == expected, (page, role, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        assert inline_problems(r.text) == [], (page, role)
        assert "script-src 'self'" in r.headers["content-security-policy"]


def test_without_a_session_a_page_sends_the_browser_to_the_login_form_and_back(client: TestClient) -> None:
    r = client.get("/ui/findings?severity=high", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login?next=/ui/findings%3Fseverity%3Dhigh"
    r = client.get("/ui/findings", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.headers["hx-redirect"].startswith("/ui/login")


def test_a_client_that_is_not_a_browser_gets_the_apis_json_answers(
        client: TestClient, role_users: dict[str, str]) -> None:
    r = client.get("/ui/findings", follow_redirects=False)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = client.get("/ui/audit", headers=bearer(role_users["viewer"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/ui/audit", headers=as_browser(role_users["viewer"])).headers["content-type"].startswith(
        "text/html")


def _login_form(client: TestClient, next_page: str = "") -> str:
    page = client.get(f"/ui/login?next={next_page}")
    assert page.status_code == 200 and inline_problems(page.text) == []
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


def test_the_login_form_signs_in_and_goes_where_the_browser_was_sent_from(
        client: TestClient, role_users: dict[str, str]) -> None:
    token = _login_form(client, "/ui/alerts")
    r = client.post("/ui/login", data={"username": "viewer", "password": GOOD_PW, "next": "/ui/alerts",
                                       "login_csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/alerts"
    assert "httponly" in r.headers["set-cookie"].lower()
    page = client.get("/ui/alerts")
    assert page.status_code == 200
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page.text)


def test_after_login_the_form_never_sends_the_browser_to_another_site(
        client: TestClient, role_users: dict[str, str]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/v1/findings", "/ui/\\evil"):
        token = _login_form(client)
        r = client.post("/ui/login", data={"username": "viewer", "password": GOOD_PW, "next": target,
                                           "login_csrf": token}, follow_redirects=False)
        assert r.headers["location"] == "/ui/", target


def test_a_wrong_password_shows_the_form_again_with_the_reason(client: TestClient, role_users: dict[str, str]) -> None:
    token = _login_form(client)
    r = client.post("/ui/login", data={"username": "viewer", "password": "wrong", "login_csrf": token})
    assert r.status_code == 401
    assert "invalid username, password or code" in r.text and "--totp" not in r.text
    assert 'value="viewer"' in r.text and "wrong" not in r.text.replace("went wrong", "")
    assert client.get("/ui/", headers=HTML, follow_redirects=False).status_code == 303


def test_a_login_post_without_the_forms_own_token_is_refused(client: TestClient, role_users: dict[str, str]) -> None:
    r = client.post("/ui/login", data={"username": "viewer", "password": GOOD_PW, "login_csrf": "forged"})
    assert r.status_code == 400 and "expired" in r.text
    assert client.get("/ui/", headers=HTML, follow_redirects=False).status_code == 303


def test_repeated_failures_are_throttled_as_iam_login_is(client: TestClient, role_users: dict[str, str]) -> None:
    statuses = []
    for _ in range(12):
        token = _login_form(client)
        statuses.append(client.post("/ui/login", data={"username": "viewer", "password": "wrong",
                                                       "login_csrf": token}).status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    token = _login_form(client)
    r = client.post("/ui/login", data={"username": "viewer", "password": GOOD_PW, "login_csrf": token})
    assert r.status_code == 429 and "retry in" in r.text  # the right password waits too


def test_totp_is_asked_for_and_checked_when_the_account_has_mfa(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    import pyotp

    secret = serve_ctx.iam.mfa_begin("analyst")
    serve_ctx.iam.mfa_confirm("analyst", pyotp.TOTP(secret).now())
    token = _login_form(client)
    r = client.post("/ui/login", data={"username": "analyst", "password": GOOD_PW, "login_csrf": token})
    assert r.status_code == 401 and "TOTP" in r.text
    token = _login_form(client)
    code = pyotp.TOTP(secret).at(serve_ctx.iam.clock() + 30)  # the next step: this one was claimed
    r = client.post("/ui/login", data={"username": "analyst", "password": GOOD_PW, "totp": code,
                                       "login_csrf": token}, follow_redirects=False)
    assert r.status_code == 303


def test_logout_needs_the_sessions_csrf_secret_and_ends_the_session(
        client: TestClient, role_users: dict[str, str]) -> None:
    csrf = login(client, "viewer")
    assert client.post("/ui/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    r = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert client.get("/v1/session").status_code == 401


def _controls(client: TestClient, token: str, page: str) -> str:
    r = client.get(page, headers=as_browser(token))
    assert r.status_code == 200
    return r.text


def test_controls_show_only_for_roles_that_may_use_them(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    triage = 'id="triage"'
    assert triage in _controls(client, role_users["analyst"], "/ui/findings")
    assert triage not in _controls(client, role_users["viewer"], "/ui/findings")
    assert triage not in _controls(client, role_users["responder"], "/ui/findings")
    ack = "/ack\""
    assert ack in _controls(client, role_users["analyst"], "/ui/alerts")
    assert ack not in _controls(client, role_users["viewer"], "/ui/alerts")
    approve = f'/v1/responses/{seeded["response"]}/approve'
    assert approve in _controls(client, role_users["responder"], "/ui/responses")
    assert approve not in _controls(client, role_users["analyst"], "/ui/responses")
    nav = _controls(client, role_users["viewer"], "/ui/")
    assert 'href="/ui/findings"' in nav and 'href="/ui/users"' not in nav and 'href="/ui/audit"' not in nav
    admin = _controls(client, role_users["admin"], "/ui/users")
    assert '/v1/users/viewer/disable' in admin and '/v1/users/admin/disable' not in admin  # not oneself
    assert 'data-api="/v1/users/viewer/roles" data-method="PUT"' in admin and 'data-api="/v1/users"' in admin


def test_the_overview_draws_risk_by_asset_the_trend_and_alerts_per_day(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    html = _controls(client, role_users["viewer"], "/ui/")
    top = max(seeded["report"]["risks"], key=lambda r: r["score"])
    assert f"{top['asset_id']}: {top['level']}, score {top['score']}" in html
    assert html.count('<circle class="dot ') == 3  # three finished assessments
    per_day = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) (\w+)</title>", html)
    assert sum(int(n) for _, n, _ in per_day) == 13 and {d for d, _, _ in per_day} == {"2026-01-05"}
    assert inline_problems(html) == []


def test_the_findings_page_filters_sorts_and_pages(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    token = role_users["viewer"]
    high = _controls(client, token, "/ui/findings?severity=high&target=examples/shop")
    n_high = sum(1 for f in seeded["report"]["findings"] if f["severity"] == "high")
    assert f'<span class="count">{n_high}</span>' in high
    assert 'badge sev-medium' not in high
    q = _controls(client, token, "/ui/findings?q=NetworkPolicy&sort=asset")
    assert "Workload not covered by a NetworkPolicy" in q and "Privileged" not in q
    everything = _controls(client, token, "/ui/findings?status=")
    assert "page 1 of" in everything and "next →" in everything
    first = everything.index("badge sev-critical")
    assert "badge sev-low" not in everything[:first]  # severity order: the most severe first


def test_the_alerts_timeline_shows_each_alerts_evidence(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    html = _controls(client, role_users["viewer"], "/ui/alerts")
    assert html.count('class="alert sev-edge-') == 13
    assert "Console login without MFA" in html and "evidence (1)" in html
    assert "signin.amazonaws.com" in html  # the event itself, pretty-printed
    marks = re.findall(r'<a href="#(alert-[0-9a-z]+)"><(?:circle|rect) class="sev-(\w+)"', html)
    assert len(marks) == 13 and all(f'id="{anchor}"' in html for anchor, _ in marks)  # each links to its alert


def test_the_asset_risk_and_plan_pages_show_the_present_assessment(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    report = seeded["report"]
    token = role_users["viewer"]
    assets = _controls(client, token, "/ui/assets?target=examples/shop")
    assert all(a["id"] in assets for a in report["assets"])
    risks = _controls(client, token, "/ui/risks?target=examples/shop")
    assert risks.count("<meter") == len(report["risks"])
    plan = _controls(client, token, "/ui/plan?target=examples/shop")
    assert report["plan"][0]["title"] in plan and "patches</summary>" in plan


def test_text_from_the_store_is_escaped(client: TestClient, role_users: dict[str, str], seeded: dict[str, Any],
                                         serve_ctx: ServeContext) -> None:
    from sqlalchemy import update

    from cnsec.store import schema

    with serve_ctx.engine.begin() as conn:
        conn.execute(update(schema.serve_alerts).values(title='<script>alert("x")</script><b onclick=y>'))
    html = _controls(client, role_users["viewer"], "/ui/alerts")
    assert "&lt;script&gt;" in html and inline_problems(html) == []


def test_the_audit_page_shows_the_chain_and_its_state(client: TestClient, role_users: dict[str, str]) -> None:
    html = _controls(client, role_users["admin"], "/ui/audit")
    assert "chain intact" in html and "store-init" in html


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside the routers FastAPI keeps whole (``include_router`` of 0.16x)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(list(inner.routes))


def test_every_dashboard_route_declares_one_permission_and_pages_declare_what_they_show(app: FastAPI) -> None:
    from cnsec.serve.auth import route_permission
    from cnsec.serve.ui.render import PAGES

    ui = {(r.path, tuple(sorted(r.methods))): route_permission(r) for r in _routes(list(app.routes))
          if r.path.startswith("/ui")}
    assert len(ui) >= 14
    assert all(len(p) == 1 for p in ui.values()), ui
    for page in PAGES.values():
        assert ui[(page.path, ("GET",))] == [page.permission]
    assert ui[("/ui/login", ("POST",))] == ["public"] and ui[("/ui/logout", ("POST",))] == ["authenticated"]


def test_a_finding_page_shows_where_its_history_how_to_fix_and_triage_for_those_who_may(
        client: TestClient, role_users: dict[str, str], seeded: dict[str, Any]) -> None:
    listing = _controls(client, role_users["analyst"], "/ui/findings?target=examples/shop&severity=critical")
    fid = re.findall(r'href="/ui/findings/([0-9a-f]+)"', listing)[0]
    page = _controls(client, role_users["analyst"], f"/ui/findings/{fid}")
    assert page.count("assessment #") == 2  # examples/shop was assessed twice, the finding in both
    assert "Remediation:" in page and f'name="ids" value="{fid}"' in page
    assert f'data-api="/v1/findings/{fid}/comments"' in page and inline_problems(page) == []
    viewer = _controls(client, role_users["viewer"], f"/ui/findings/{fid}")
    assert 'id="triage"' not in viewer and "/comments" not in viewer
    r = client.get("/ui/findings/nosuchfinding", headers=as_browser(role_users["viewer"]))
    assert r.status_code == 404 and "Not found" in r.text
