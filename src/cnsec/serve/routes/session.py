"""Browser sessions: log in (password, and TOTP when enrolled), who am I, log out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cnsec.serve import auth
from cnsec.serve.auth import Principal, authenticated, public
from cnsec.serve.context import ServeContext, context

router = APIRouter(prefix="/v1/session", tags=["session"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=16)


def set_cookie(response: Response, ctx: ServeContext, session: auth.NewSession) -> None:
    response.set_cookie(auth.cookie_name(ctx), session.token, max_age=int(ctx.settings.session_ttl), path="/",
                        httponly=True, secure=ctx.settings.tls, samesite="strict")


@router.post("", dependencies=[public()])
async def login(body: Login, request: Request, response: Response,
                ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Sets the session cookie; the answer holds the CSRF secret every state-changing request echoes."""
    session = await run_in_threadpool(auth.login, ctx, body.username, body.password, body.totp,
                                      auth.client_address(request))
    set_cookie(response, ctx, session)
    return {"username": body.username, "csrf": session.csrf, "expires_at": session.expires_at}


@router.get("")
async def whoami(principal: Principal = authenticated(), ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    user = await run_in_threadpool(ctx.iam.get_user, principal.username)
    return {"username": principal.username, "via": principal.via, "roles": list(user.roles) if user else [],
            "csrf": principal.csrf}


@router.delete("", status_code=204)
async def logout(request: Request, response: Response, principal: Principal = authenticated(),
                 ctx: ServeContext = Depends(context)) -> Response:
    token = request.cookies.get(auth.cookie_name(ctx))
    if principal.via == "session" and token:
        await run_in_threadpool(auth.end_session, ctx, token)
    response = Response(status_code=204)
    response.delete_cookie(auth.cookie_name(ctx), path="/", secure=ctx.settings.tls, httponly=True,
                           samesite="strict")
    return response
