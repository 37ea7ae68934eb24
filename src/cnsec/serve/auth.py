"""Who is asking, and may they: every request of ``cnsec serve`` passes here.

Three credentials, one :class:`Principal`:

* ``Authorization: Bearer <access token>`` — a cnsec IAM access token (``cnsec iam login``), checked by
  the IAM token service (signature, expiry, revocation, disabled user);
* ``Authorization: Bearer cnsk_…`` — an API key (``cnsec serve keys add``) for machines: the audit
  webhook, falcosidekick, CI. Only its SHA-256 is stored;
* the browser's session cookie (HttpOnly; Secure and ``__Host-`` under TLS; SameSite=Strict), made by
  ``POST /v1/session``. A cookie is sent by the browser on its own, so every state-changing request
  that authenticates with it must also carry the session's CSRF secret (``X-CSRF-Token`` header, or a
  ``csrf`` form field); bearer credentials are never sent on their own and need none.

Every route declares what it needs with one dependency — ``require("findings:read")``,
``authenticated()`` or ``public()`` — and :func:`route_permission` reads it back, so a test can walk
every route and check each built-in role's answer against a table. Decisions are cnsec's own RBAC
(:mod:`cnsec.iam`): permission ``resource:action``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import delete, insert, select, update
from starlette.concurrency import run_in_threadpool

from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import ApiError
from cnsec.store import schema

PUBLIC = "public"
AUTHENTICATED = "authenticated"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_PREFIX = "cnsk_"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
#: Sessions are touched at most this often (seconds): a page load is not a database write.
TOUCH_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    via: str  # token | key | session
    csrf: str | None = None  # the session's CSRF secret (sessions only)


def cookie_name(ctx: ServeContext) -> str:
    """``__Host-`` makes the browser refuse the cookie unless Secure, host-only and Path=/ (TLS only)."""
    return "__Host-cnsec" if ctx.settings.tls else "cnsec_session"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- reading the credential ------------------------------------------------------------------------

def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "the Authorization header must be 'Bearer <token>'",
                       headers={"WWW-Authenticate": "Bearer"})
    return value.strip()


def _from_token(ctx: ServeContext, token: str) -> Principal:
    from cnsec.iam import TokenError

    try:
        claims = ctx.tokens.verify(token)
    except TokenError as exc:
        raise ApiError(401, f"invalid token: {exc}", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                       ) from None
    return Principal(str(claims["sub"]), "token")


def _from_key(ctx: ServeContext, key: str) -> Principal:
    t, u = schema.serve_api_keys, schema.users
    now = ctx.iam.clock()
    with ctx.engine.connect() as conn:
        row = conn.execute(select(t.c.id, t.c.username, t.c.expires_at, t.c.revoked_at, t.c.last_used,
                                  u.c.disabled).join(u, u.c.username == t.c.username)
                           .where(t.c.key_hash == _sha(key))).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise ApiError(401, "invalid API key", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if row.disabled:
        raise ApiError(401, "the API key's user is disabled", headers={"WWW-Authenticate": "Bearer"})
    if row.last_used is None or now - row.last_used > TOUCH_EVERY:
        with ctx.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == row.id).values(last_used=now))
    return Principal(row.username, "key")


def _from_session(ctx: ServeContext, token: str) -> Principal | None:
    t, u = schema.serve_sessions, schema.users
    now = ctx.iam.clock()
    with ctx.engine.connect() as conn:
        row = conn.execute(select(t.c.token_hash, t.c.username, t.c.csrf, t.c.expires_at, t.c.last_seen,
                                  u.c.disabled).join(u, u.c.username == t.c.username)
                           .where(t.c.token_hash == _sha(token))).first()
    if row is None or row.expires_at <= now or row.disabled:
        return None
    if now - row.last_seen > TOUCH_EVERY:
        with ctx.engine.begin() as conn:
            conn.execute(update(t).where(t.c.token_hash == row.token_hash).values(last_seen=now))
    return Principal(row.username, "session", row.csrf)


def _identify(ctx: ServeContext, bearer: str | None, cookie: str | None) -> Principal | None:
    if bearer is not None:
        return _from_key(ctx, bearer) if bearer.startswith(KEY_PREFIX) else _from_token(ctx, bearer)
    if cookie:
        return _from_session(ctx, cookie)
    return None


async def _csrf_ok(request: Request, principal: Principal) -> bool:
    if principal.via != "session" or request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps it: the route reads the same form again
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return bool(sent) and principal.csrf is not None and hmac.compare_digest(sent or "", principal.csrf)


async def principal_of(request: Request, ctx: ServeContext) -> Principal:
    """The authenticated caller, or 401; a cookie-authenticated unsafe request without the session's
    CSRF secret is 403. The result is kept on the request (one lookup per request)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    bearer = _bearer(request)
    principal = await run_in_threadpool(_identify, ctx, bearer, request.cookies.get(cookie_name(ctx)))
    if principal is None:
        raise ApiError(401, "authentication required: a bearer token, an API key or a session",
                       headers={"WWW-Authenticate": "Bearer"})
    if not await _csrf_ok(request, principal):
        raise ApiError(403, "missing or wrong CSRF token for a session request", code="csrf")
    request.state.principal = principal
    return principal


# -- what a route declares -----------------------------------------------------------------------

def require(permission: str) -> Any:
    """The dependency of a route that needs ``permission`` (``resource:action``); gives the Principal."""
    resource, _, action = permission.rpartition(":")
    if not resource or not action:
        raise ValueError(f"permission {permission!r} must be resource:action")

    async def check(request: Request, ctx: ServeContext = Depends(context)) -> Principal:
        principal = await principal_of(request, ctx)
        if not ctx.authorizer().decide(principal.username, action, resource).allowed:
            raise ApiError(403, f"{principal.username!r} lacks the permission {permission}")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def authenticated() -> Any:
    """Any signed-in caller (their own session, who they are)."""

    async def check(request: Request, ctx: ServeContext = Depends(context)) -> Principal:
        return await principal_of(request, ctx)

    check.permission = AUTHENTICATED  # type: ignore[attr-defined]
    return Depends(check)


def public() -> Any:
    """No credential needed (health, login, the login page, static files)."""

    def check() -> None:
        return None

    check.permission = PUBLIC  # type: ignore[attr-defined]
    return Depends(check)


def route_permission(route: APIRoute) -> list[str]:
    """Every permission a route declared (a well-made route declares exactly one)."""
    found: list[str] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        perm = getattr(dep.call, "permission", None)
        if isinstance(perm, str):
            found.append(perm)
        stack.extend(dep.dependencies)
    return found


def allowed(ctx: ServeContext, username: str, permission: str) -> bool:
    """For pages that show or hide a control: may this user do that?"""
    resource, _, action = permission.rpartition(":")
    return bool(ctx.authorizer().decide(username, action, resource).allowed)


# -- sessions ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf: str
    expires_at: float


def create_session(ctx: ServeContext, username: str, source: str) -> NewSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = ctx.iam.clock()
    expires = now + ctx.settings.session_ttl
    with ctx.engine.begin() as conn:
        conn.execute(delete(schema.serve_sessions).where(schema.serve_sessions.c.expires_at <= now))
        conn.execute(insert(schema.serve_sessions).values(
            token_hash=_sha(token), username=username, csrf=csrf, created_at=now, expires_at=expires,
            last_seen=now, source=source[:255]))
    return NewSession(token, csrf, expires)


def end_session(ctx: ServeContext, token: str) -> bool:
    with ctx.engine.begin() as conn:
        result = conn.execute(delete(schema.serve_sessions).where(schema.serve_sessions.c.token_hash == _sha(token)))
    return bool(result.rowcount)


def login(ctx: ServeContext, username: str, password: str, totp: str | None, source: str) -> NewSession:
    """Password (and TOTP when enrolled) checked by the IAM store, under its throttling and lockout."""
    from cnsec.iam import AuthError

    try:
        user = ctx.iam.authenticate(username, password, source=source, totp=totp)
    except AuthError as exc:
        raise ApiError(401, str(exc), code="login_failed") from None
    return create_session(ctx, user.username, source)


# -- API keys ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    username: str
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name, "created_at": self.created_at,
                "expires_at": self.expires_at, "revoked_at": self.revoked_at, "last_used": self.last_used}


def add_key(ctx: ServeContext, username: str, name: str, ttl: float | None = None,
            actor: str = "cli") -> tuple[str, ApiKey]:
    """A new key for ``username``: the key itself (shown once) and its record."""
    ctx.iam.require_user(username)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = ctx.iam.clock()
    rec = ApiKey(key_id, username, name, now, now + ttl if ttl else None, None, None)
    with ctx.engine.begin() as conn:
        conn.execute(insert(schema.serve_api_keys).values(
            id=key_id, key_hash=_sha(key), username=username, name=name, created_at=now,
            expires_at=rec.expires_at))
    ctx.iam.audit("api-key-add", actor, username, "local", "success", {"key": key_id, "name": name})
    return key, rec


def list_keys(ctx: ServeContext) -> list[ApiKey]:
    t = schema.serve_api_keys
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.username, t.c.name, t.c.created_at, t.c.expires_at, t.c.revoked_at,
                                   t.c.last_used).order_by(t.c.created_at)).all()
    return [ApiKey(*r) for r in rows]


def revoke_key(ctx: ServeContext, key_id: str, actor: str = "cli") -> bool:
    t = schema.serve_api_keys
    with ctx.engine.begin() as conn:
        done = conn.execute(update(t).where((t.c.id == key_id) & t.c.revoked_at.is_(None))
                            .values(revoked_at=ctx.iam.clock())).rowcount
    if done:
        ctx.iam.audit("api-key-revoke", actor, key_id, "local", "success")
    return bool(done)
