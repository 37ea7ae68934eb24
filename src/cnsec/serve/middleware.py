"""Pure-ASGI layers every answer passes through: security headers, the access log and metrics (with
the request id and the answer to a bug), and the request-size limits.

Written against ASGI directly rather than as ``BaseHTTPMiddleware``: no extra task and no buffering per
request, which the ingest path (tens of thousands of events a second) would pay for.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from cnsec.serve import errors
from cnsec.serve.settings import Settings

ACCESS = logging.getLogger("cnsec.serve.access")

Scope = dict[str, Any]
Message = dict[str, Any]

#: No inline script or style anywhere (the dashboard ships its own files), no framing, no plugins.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders:
    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if settings.tls:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        no_store = not path.startswith("/ui/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if no_store and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: A client's X-Request-ID is kept when it looks like an id (it goes into logs: nothing else does).
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The route's template (``/v1/findings/{fid}``), never the raw path: ids and tokens stay out of
    logs and metric labels, and the label set stays bounded. A path no route matched is one label."""
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):  # static files, a sub-app
        return path.rstrip("/") + "/{path}"
    return path


class Observe:
    """One access-log line and the request metrics per request, a request id on every answer, and the
    one answer to a bug: a JSON 500 naming the request id (the traceback goes to the log only).

    The log line holds method, route template, status, duration, user, client and request id, chosen
    field by field: never the query string, a header, a cookie or a body, where credentials travel.
    """

    def __init__(self, app: Any, ctx: Any) -> None:
        self.app = app
        self.ctx = ctx
        from cnsec.serve import metrics

        self.requests = metrics.REQUESTS.of(ctx)
        self.latency = metrics.LATENCY.of(ctx)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            errors.log_bug(request_id, scope.get("method", ""), route_template(scope), exc)
            if status:
                raise  # the answer has begun: the server can only drop the connection
            status = 500
            await _reject(send, 500, "internal", errors.bug_message(request_id),
                          [(b"x-request-id", request_id.encode())])
        finally:
            elapsed = time.perf_counter() - start
            template, method = route_template(scope), scope.get("method", "")
            self.requests.labels(method=method, route=template, status=str(status)).inc()
            self.latency.labels(method=method, route=template).observe(elapsed)
            principal = state.get("principal")
            client = scope.get("client")
            ACCESS.info("request", extra={"fields": {
                "method": method, "route": template, "status": status, "duration_ms": round(elapsed * 1000, 2),
                "user": getattr(principal, "username", None), "client": client[0] if client else None,
                "request_id": request_id}})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return bytes(value).decode()
    return uuid.uuid4().hex


class BodyLimit:
    """A body larger than the route's limit gets 413: at once when Content-Length says so, else as soon
    as the bytes received pass the limit (chunked uploads), never after reading it whole. Headers
    larger than ``Settings.max_header_bytes`` get 431 (the HTTP layer itself refuses, with a plain 400,
    a request head twice that size before it is buffered: see :func:`cnsec.serve.startup.uvicorn_config`)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + sum(
            len(name) + len(value) + 4 for name, value in scope.get("headers", []))
        if head > self.settings.max_header_bytes:
            await _reject(send, 431, "headers_too_large",
                          f"the request's headers are larger than {self.settings.max_header_bytes} bytes")
            return
        limit = self.settings.body_limit(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reject(send, 400, "bad_request", "the Content-Length header is not a number")
                    return
                if declared > limit:
                    await _reject(send, 413, "too_large", f"the request body is larger than {limit} bytes")
                    return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if seen > limit:  # the rest of the body is never read: the connection cannot be reused
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge as exc:
            if not started:
                await _reject(send, 413, "too_large", f"the request body is larger than {exc.limit} bytes")


class BodyTooLarge(HTTPException):
    """Raised by the body reader when the bytes received pass the limit. An HTTPException so that
    FastAPI's body parsing passes it on as the 413 it is (it turns any other error into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


async def _reject(send: Any, status: int, code: str, message: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = orjson.dumps(errors.body(status, message, code))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
