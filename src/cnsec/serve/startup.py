"""Bringing a server up: the store checked (or created, when empty), the signing key, then uvicorn.

An empty store is created at start, so ``cnsec serve`` works on a fresh machine; a store made by an
older cnsec is upgraded only with ``--migrate`` (after a backup: there is no downgrade), and one the
server cannot reach is one clear line and exit 2, never a traceback.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from cnsec.errors import CnsecError
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings


class StartupError(CnsecError):
    """The server cannot start: database unreachable, schema behind, bad TLS files, bus unreachable."""


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


def check_tls(settings: Settings) -> None:
    """The certificate and key load together, or one line saying which file is wrong and how."""
    import ssl
    from pathlib import Path

    if not settings.tls:
        return
    for flag, name in (("--tls-cert", settings.tls_cert), ("--tls-key", settings.tls_key)):
        path = Path(str(name))
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise StartupError(f"cannot read {flag} {path}: {exc.strerror or exc}") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    except ssl.SSLError as exc:
        raise StartupError(f"cannot use --tls-cert {settings.tls_cert} with --tls-key {settings.tls_key}: "
                           f"they must be a PEM certificate (chain) and its PEM private key, unencrypted "
                           f"({exc.reason or exc})") from None


def check_bus(settings: Settings) -> None:
    """With ``--bus``: the bus answers and serves JetStream, or one line saying why (exit 2). A server
    that started without it would accept no event and store no alert."""
    import asyncio

    from cnsec.serve.bus.config import BusConfig, BusError, probe

    if not settings.bus:
        return
    try:
        asyncio.run(probe(BusConfig(url=settings.bus)))
    except BusError as exc:
        raise StartupError(str(exc)) from None


def run(ctx: ServeContext) -> int:
    import uvicorn

    from cnsec.serve.app import create_app
    from cnsec.serve.logs import configure

    s = ctx.settings
    check_tls(s)
    check_bus(s)
    sock = listen(s)
    configure()
    app = create_app(context=ctx)
    scheme = "https" if s.tls else "http"
    users = len(ctx.iam.list_users())
    log = logging.getLogger("cnsec.serve")
    bus = ""
    if s.bus:
        from cnsec.serve.bus.config import shown

        bus = f", detection on the bus at {shown(s.bus)}"
    log.info(f"cnsec serve: {scheme}://{s.host}:{s.port} (store {_where(ctx)}{bus})")
    if not users:
        log.warning("cnsec serve: no users yet: create the first with `cnsec iam users add admin --role admin`")
    try:
        uvicorn.Server(uvicorn_config(s, app)).run(sockets=[sock])
    except SystemExit as exc:  # uvicorn's own way out of a failed start (it has logged why)
        if exc.code:
            raise StartupError("the server could not start (the log above says why)") from None
    return 0


def listen(settings: Settings) -> socket.socket:
    """The listening socket, bound before anything starts: a port in use is one clear line, exit 2."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _where(ctx: ServeContext) -> str:
    from cnsec.store.engine import redact

    return redact(ctx.iam.url)
