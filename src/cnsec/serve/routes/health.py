"""Liveness and readiness, for the kubelet's probes and load balancers: no credential needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import column, select, table
from starlette.concurrency import run_in_threadpool

from cnsec.serve.auth import public
from cnsec.serve.bus.config import shown
from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import log, unavailable
from cnsec.serve.ingest.bus import bus_ready, unreachable
from cnsec.serve.metrics import DB_UP
from cnsec.store.engine import driver_message
from cnsec.store.migrations import VERSION_TABLE

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process answers (says nothing of the database: a restart would not fix that)."""
    return {"status": "ok"}


def _ping(ctx: ServeContext) -> None:
    """Read the store's schema version: a row of the database itself (``SELECT 1`` is answered by a
    SQLite library that cannot read its file), and a store whose schema is gone is not ready either."""
    with ctx.engine.connect() as conn:
        conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE))).first()


@router.get("/readyz", dependencies=[public()])
async def readyz(ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Ready when the database answers and, with ``--bus``, the bus is connected; 503 otherwise (the
    server keeps trying, and is ready again as soon as both answer: nothing to restart)."""
    from sqlalchemy.exc import SQLAlchemyError

    up = DB_UP.of(ctx)
    try:
        await run_in_threadpool(_ping, ctx)
    except SQLAlchemyError as exc:
        up.set(0)
        log.warning("not ready: the database is unreachable: %s", driver_message(exc))
        raise unavailable() from None
    up.set(1)
    if not bus_ready(ctx):
        log.warning("not ready: the bus at %s is unreachable", shown(ctx.settings.bus or ""))
        raise unreachable(ctx)
    return {"status": "ready"}
