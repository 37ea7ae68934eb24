"""Bringing a server up: the store checked (or created, when empty), the signing key, then uvicorn.

An empty store is created at start, so ``cnsec serve`` works on a fresh machine; a store made by an
older cnsec is upgraded only with ``--migrate`` (after a backup: there is no downgrade), and one the
server cannot reach is one clear line and exit 2, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

from cnsec.errors import CnsecError
from cnsec.serve.context import ServeContext


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


def run(ctx: ServeContext) -> int:
    import uvicorn

    from cnsec.serve.app import create_app
    from cnsec.serve.logs import configure

    s = ctx.settings
    configure()
    app = create_app(context=ctx)
    scheme = "https" if s.tls else "http"
    users = len(ctx.iam.list_users())
    print(f"cnsec serve: {scheme}://{s.host}:{s.port} (store {_where(ctx)})", file=sys.stderr)
    if not users:
        print("cnsec serve: no users yet: create the first with `cnsec iam users add admin --role admin`",
              file=sys.stderr)
    kwargs: dict[str, Any] = {"host": s.host, "port": s.port, "log_config": None, "access_log": False,
                              "server_header": False, "timeout_keep_alive": 30}
    if s.tls:
        kwargs.update(ssl_certfile=s.tls_cert, ssl_keyfile=s.tls_key)
    try:
        uvicorn.run(app, **kwargs)
    except OSError as exc:  # port taken, TLS files unreadable
        raise StartupError(f"cannot serve on {s.host}:{s.port}: {exc.strerror or exc}") from None
    return 0


def _where(ctx: ServeContext) -> str:
    from cnsec.store.engine import redact

    return redact(ctx.iam.url)
