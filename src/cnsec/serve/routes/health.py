"""Liveness and readiness, for the kubelet's probes and load balancers: no credential needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from cnsec.serve.auth import public
from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import ApiError

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    """The process answers (says nothing of the database: a restart would not fix that)."""
    return {"status": "ok"}


def _ping(ctx: ServeContext) -> None:
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/readyz", dependencies=[public()])
async def readyz(ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Ready when the database answers; 503 otherwise (the server keeps trying on every probe)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        await run_in_threadpool(_ping, ctx)
    except SQLAlchemyError:
        raise ApiError(503, "the database is unreachable", headers={"Retry-After": "5"}) from None
    return {"status": "ready"}
