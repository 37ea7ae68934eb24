"""Logging in and out of the dashboard: a form posting password (and TOTP when enrolled) to
:func:`cnsec.serve.auth.login` — the IAM store's throttling and lockout decide, as for ``iam login``.

The login form is itself protected from cross-site posting (an attacker signing a victim into the
attacker's account): the page sets a random value in a strict same-site cookie and in the form, and a
post whose two values differ is refused.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cnsec.serve import auth
from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import ApiError
from cnsec.serve.routes.session import set_cookie
from cnsec.serve.ui import render

router = APIRouter(prefix="/ui", include_in_schema=False)

LOGIN_COOKIE = "cnsec_login"
LOGIN_PATH = "/ui/login"
#: the IAM store's refusal names the CLI option; the form says it in its own words
CLI_HINT = " (an account with MFA also needs its TOTP code: --totp)"


def _form(request: Request, ctx: ServeContext, *, error: str = "", status: int = 200, username: str = "",
          back: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(18)
    response = render.html(request, "login.html", None, status_code=status, error=error, username=username,
                           next=render.safe_next(back), login_csrf=token, active="login")
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=LOGIN_PATH, httponly=True, secure=ctx.settings.tls,
                        samesite="strict")
    return response


@router.get("/login", dependencies=[auth.public()])
def login_page(request: Request, next: str = "", ctx: ServeContext = Depends(context)) -> HTMLResponse:
    return _form(request, ctx, back=next)


def _message(exc: ApiError) -> tuple[str, int]:
    text = exc.message
    if text.endswith(CLI_HINT):
        text = text[: -len(CLI_HINT)] + ". An account with MFA also needs its TOTP code."
    return text, 429 if "retry in" in text else 401


@router.post("/login", dependencies=[auth.public()])
async def login_post(request: Request, username: Annotated[str, Form()] = "",
                     password: Annotated[str, Form()] = "", totp: Annotated[str, Form()] = "",
                     next: Annotated[str, Form()] = "", login_csrf: Annotated[str, Form()] = "",
                     ctx: ServeContext = Depends(context)) -> Response:
    username = username.strip()
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_csrf):
        return _form(request, ctx, error="The form expired: please sign in again.", status=400, username=username,
                     back=next)
    if not username or not password or len(username) > 128 or len(password) > 1024 or len(totp) > 16:
        return _form(request, ctx, error="Enter a username and a password.", status=400, username=username[:128],
                     back=next)
    try:
        session = await run_in_threadpool(auth.login, ctx, username, password, totp.strip() or None,
                                          auth.client_address(request))
    except ApiError as exc:
        message, status = _message(exc)
        return _form(request, ctx, error=message, status=status, username=username, back=next)
    response = RedirectResponse(render.safe_next(next), status_code=303)
    set_cookie(response, ctx, session)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, secure=ctx.settings.tls, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[render.Viewer, render.viewer()],
                 ctx: ServeContext = Depends(context)) -> Response:
    """The form carries the session's CSRF secret (checked before this runs)."""
    token = request.cookies.get(auth.cookie_name(ctx))
    if token:
        await run_in_threadpool(auth.end_session, ctx, token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(auth.cookie_name(ctx), path="/", secure=ctx.settings.tls, httponly=True, samesite="strict")
    return response
