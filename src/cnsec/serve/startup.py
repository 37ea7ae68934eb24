"""Bringing a server up: the store checked (or created, when empty), the signing key, then uvicorn.

An empty store is created at start, so ``cnsec serve`` works on a fresh machine; a store made by an
older cnsec is upgraded only with ``--migrate`` (after a backup: there is no downgrade), and one the
server cannot reach is one clear line and exit 2, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from cnsec.errors import CnsecError
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings


class StartupError(CnsecError):
    """The server cannot start: database unreachable, schema behind, bad TLS files."""


def prepare(ctx: ServeContext, *, migrate: bool = False) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from cnsec.iam import NotInitialized
    from cnsec.store.engine import driver_message, redact
    from cnsec.store.migrations import schema_state

    try:
        with ctx.engine.connect() as conn:
            state = schema_state(conn)
        if state.empty or migrate:
            ctx.iam.init(actor="serve")
        else:
            ctx.iam.require_ready()
        ctx.tokens.rotate_key(actor="serve", only_if_none=True)
    except NotInitialized as exc:
        raise StartupError(f"{exc} (or start with --migrate)") from None
    except SQLAlchemyError as exc:
        raise StartupError(f"cannot open the store at {redact(ctx.iam.url)}: {driver_message(exc)}") from None


def uvicorn_config(settings: Settings, app: Any) -> Any:
    """The uvicorn configuration ``cnsec serve`` runs with (tests serve through the same one).

    The h11 protocol rather than httptools: h11 refuses a request head larger than its limit before
    buffering it (httptools buffers any size), and HTTP parsing is not where the time goes (an
    ingest batch is hundreds of events in one request)."""
    import uvicorn

    kwargs: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None,
                              "access_log": False, "server_header": False, "timeout_keep_alive": 30,
                              "http": "h11", "h11_max_incomplete_event_size": 2 * settings.max_header_bytes}
    if settings.tls:
        kwargs.update(ssl_certfile=settings.tls_cert, ssl_keyfile=settings.tls_key)
    return uvicorn.Config(app, **kwargs)


def run(ctx: ServeContext) -> int:
    import ssl

    import uvicorn

    from cnsec.serve.app import create_app
    from cnsec.serve.logs import configure

    s = ctx.settings
    configure()
    app = create_app(context=ctx)
    scheme = "https" if s.tls else "http"
    users = len(ctx.iam.list_users())
    log = logging.getLogger("cnsec.serve")
    log.info(f"cnsec serve: {scheme}://{s.host}:{s.port} (store {_where(ctx)})")
    if not users:
        log.warning("cnsec serve: no users yet: create the first with `cnsec iam users add admin --role admin`")
    try:
        uvicorn.Server(uvicorn_config(s, app)).run()
    except ssl.SSLError as exc:  # before OSError: it is one
        raise StartupError(f"cannot use --tls-cert {s.tls_cert} with --tls-key {s.tls_key}: "
                           f"{exc.reason or exc}") from None
    except OSError as exc:  # port taken, TLS files unreadable
        raise StartupError(f"cannot serve on {s.host}:{s.port}: {exc.strerror or exc}") from None
    return 0


def _where(ctx: ServeContext) -> str:
    from cnsec.store.engine import redact

    return redact(ctx.iam.url)
