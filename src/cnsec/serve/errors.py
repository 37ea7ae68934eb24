"""One error shape for every API answer that is not a success.

``{"error": {"status": 404, "code": "not_found", "message": "no finding with that id"}}`` — for our own
:class:`ApiError`, for FastAPI's validation errors (422, with the fields at fault in ``detail``), for
Starlette's own 404/405, for a database that cannot be reached (503 with Retry-After: the server
keeps serving and recovers by itself when it answers again), and for a bug (500, with the request id
to find the logged traceback; never the exception's text, which may hold input or a secret; the 500
itself is written by :class:`cnsec.serve.middleware.Observe`, outside every other layer).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("cnsec.serve")

_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          431: "headers_too_large",
          422: "invalid", 429: "too_many_requests", 500: "internal", 503: "unavailable"}


class ApiError(Exception):
    """An answer other than success, raised anywhere in a route; ``headers`` go with it (Retry-After)."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.headers = headers or {}
        self.detail = detail


def body(status: int, message: str, code: str | None = None, detail: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    if detail is not None:
        err["detail"] = detail
    return {"error": err}


def response(status: int, message: str, code: str | None = None, *, headers: dict[str, str] | None = None,
             detail: Any = None) -> JSONResponse:
    return JSONResponse(body(status, message, code, detail), status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (``input`` may hold a password)."""
    out = []
    for e in exc.errors():
        out.append({"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                    "type": str(e.get("type", ""))})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return response(exc.status, exc.message, exc.code, headers=exc.headers, detail=exc.detail)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "error")
        return response(exc.status_code, message, headers=dict(exc.headers or {}))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return response(422, "the request does not match the API", detail=_validation_detail(exc))

    async def database(request: Request, exc: Exception) -> JSONResponse:
        from sqlalchemy.exc import DataError

        from cnsec.store.engine import driver_message

        if isinstance(exc, DataError):
            # a value the database cannot hold, from the request (PostgreSQL: a NUL character in text, an
            # integer beyond a column's range; schemathesis found both as 500s): the client's to fix. Also
            # logged: were the value the server's own, this line is where the bug shows. The log names the
            # driver's error kind and SQLSTATE, not its message: that quotes the value, which may be a
            # secret the client sent (it gets the message back; the server's log keeps no request value)
            orig = getattr(exc, "orig", None) or exc
            log.warning("%s %s: a value the database cannot hold (%s, SQLSTATE %s)", request.method,
                        request.url.path, type(orig).__name__, getattr(orig, "pgcode", None) or "-")
            return response(400, f"a value in the request cannot be stored: {driver_message(exc)}",
                            "bad_value")
        if not database_unreachable(exc):
            raise exc  # a bug (a constraint, a query the database refused): Observe answers 500

        log.warning("database unavailable: %s", driver_message(exc))
        err = unavailable()
        return response(err.status, err.message, err.code, headers=err.headers)

    from sqlalchemy.exc import SQLAlchemyError

    from cnsec.store.engine import DatabaseError

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(SQLAlchemyError, database)
    app.add_exception_handler(DatabaseError, database)


#: Seconds a client is told to wait when the database is unreachable (the readiness probe's period).
RETRY_AFTER = 5


def unavailable() -> ApiError:
    """The answer while the database cannot be reached."""
    return ApiError(503, "the database is unreachable; try again shortly", headers={"Retry-After": str(RETRY_AFTER)})


def database_unreachable(exc: BaseException) -> bool:
    """A database error that says "not reachable now" (refused, dropped, locked, timed out, unreadable
    file), as opposed to one that says the query was wrong (a bug, 500)."""
    from sqlalchemy import exc as sa

    from cnsec.store.engine import DatabaseError

    if isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
                        DatabaseError)):
        return True
    return isinstance(exc, sa.DBAPIError) and bool(exc.connection_invalidated)


def bug_message(request_id: str) -> str:
    return f"internal error (request {request_id}: the server's log has the details)"


def log_bug(request_id: str, method: str, route: str, exc: BaseException) -> None:
    log.error("internal error", exc_info=(type(exc), exc, exc.__traceback__),
              extra={"fields": {"request_id": request_id, "method": method, "route": route}})
