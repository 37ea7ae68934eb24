"""What every dashboard page shares: the pages and the permission each needs (one table), who is
looking, the Jinja2 environment (autoescape on), and the answers for "log in first" and "not for you".

A page route declares its permission with :func:`viewer` — recorded on the route exactly as
:func:`cnsec.serve.auth.require` records it, so the route × role test reads pages too — but a browser
without a session is sent to the login form, and one without the permission gets an HTML 403, where
any other client gets the API's JSON answers.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cnsec.serve import auth
from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import ApiError

HERE = Path(__file__).parent
STATIC_PREFIX = "/ui/static"


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    label: str
    permission: str


#: Every page of the navigation, in menu order, with the read permission of what it shows.
PAGES: dict[str, Page] = {
    "overview": Page("/ui/", "Overview", "assessments:read"),
    "findings": Page("/ui/findings", "Findings", "findings:read"),
    "assets": Page("/ui/assets", "Assets", "assessments:read"),
    "risks": Page("/ui/risks", "Risks", "assessments:read"),
    "plan": Page("/ui/plan", "Plan", "assessments:read"),
    "alerts": Page("/ui/alerts", "Alerts", "alerts:read"),
    "responses": Page("/ui/responses", "Responses", "responses:read"),
    "audit": Page("/ui/audit", "Audit log", "audit:read"),
    "users": Page("/ui/users", "Users", "users:read"),
}


@dataclass
class Viewer:
    """The signed-in person looking at a page, and what they may do (asked once per permission)."""

    username: str
    csrf: str | None
    ctx: ServeContext
    _seen: dict[str, bool] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        if permission not in self._seen:
            self._seen[permission] = auth.allowed(self.ctx, self.username, permission)
        return self._seen[permission]

    def nav(self) -> list[tuple[str, Page]]:
        return [(name, p) for name, p in PAGES.items() if self.can(p.permission)]


class LoginRequired(Exception):
    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class PageForbidden(Exception):
    def __init__(self, viewer: Viewer, permission: str) -> None:
        super().__init__(permission)
        self.viewer = viewer
        self.permission = permission


def _back(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def wants_html(request: Request) -> bool:
    """A browser (it asks for HTML, or htmx asks for a part of a page) is sent to the login form and shown
    an HTML 403; any other client gets the API's JSON 401 and 403, as from every other route."""
    return "text/html" in request.headers.get("accept", "") or "hx-request" in request.headers


def viewer(page: str | None = None) -> Any:
    """The dependency of a page route: the :class:`Viewer`, who must hold the page's permission
    (``page`` None: any signed-in person, as :func:`cnsec.serve.auth.authenticated`)."""
    permission = PAGES[page].permission if page is not None else auth.AUTHENTICATED

    async def check(request: Request, ctx: ServeContext = Depends(context)) -> Viewer:
        browser = wants_html(request)
        try:
            principal = await auth.principal_of(request, ctx)
        except ApiError as exc:
            if exc.status == 401 and browser:
                raise LoginRequired(_back(request)) from None
            raise
        who = Viewer(principal.username, principal.csrf, ctx)
        if page is not None and not who.can(permission):
            if browser:
                raise PageForbidden(who, permission)
            raise ApiError(403, f"{principal.username!r} lacks the permission {permission}")
        return who

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def safe_next(target: str | None) -> str:
    """Where to go after login: a dashboard path of this server only (never another site)."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return PAGES["overview"].path


# -- templates --------------------------------------------------------------------------------------

def when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@functools.cache
def environment() -> jinja2.Environment:
    # lenient about missing keys: the reports' optional fields (an asset without a source, a risk without
    # an explanation) render as nothing
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, day=day, pretty=pretty)
    env.globals.update(pages=PAGES, static=STATIC_PREFIX)
    return env


def html(request: Request, template: str, who: Viewer | None, *, status_code: int = 200,
         **values: Any) -> HTMLResponse:
    """Render ``template`` for ``who`` (None on the login page)."""
    body = environment().get_template(template).render(request=request, who=who, **values)
    return HTMLResponse(body, status_code=status_code)


def install(app: FastAPI) -> None:
    """The two answers a page gives instead of itself: the login form, and a 403 page."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = f"/ui/login?next={quote(exc.back, safe='/')}"
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        return html(request, "forbidden.html", exc.viewer, status_code=403, permission=exc.permission, active="")

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(PageForbidden, forbidden)
