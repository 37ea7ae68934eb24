"""POST /v1/ingest/{k8s-audit,falco,events}: events in, acknowledged once durably queued (in the
database, or with ``--bus`` stored by JetStream: serve/ingest/bus.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from cnsec.serve.app import on_startup
from cnsec.serve.auth import require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.ingest.bus import bus_of, records_of
from cnsec.serve.ingest.parse import PARSERS, json_lines_by_source
from cnsec.serve.ingest.part import ingest_of, start_worker

router = APIRouter(prefix="/v1/ingest", tags=["ingest"])

_BODY = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
_LINES = {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}


async def _take(kind: str, request: Request, ctx: ServeContext) -> dict[str, Any]:
    body = await request.body()
    if kind == "events":  # one stream per source the lines are, as separate files are to cnsec detect
        groups = [(src, lines) for src, lines in json_lines_by_source(body).items()]
    else:
        groups = [(kind, PARSERS[kind](body))]
    count = sum(len(lines) for _, lines in groups)
    if not count:
        return {"accepted": 0}
    if ctx.settings.bus:
        records = await run_in_threadpool(records_of, groups)
        stored = await bus_of(ctx).publish(records, kind, body)
        # events too large for the bus are named in the log and counted here: never only a gap
        return {"accepted": count, "published": stored.events, "messages": stored.messages,
                "not_published": len(stored.too_large)}
    queue, _ = ingest_of(ctx)
    seq = await run_in_threadpool(queue.put_groups, groups, ctx.iam.clock())
    return {"accepted": count, "seq": seq}


@router.post("/k8s-audit", openapi_extra={"requestBody": _BODY},
             summary="the Kubernetes API server's audit webhook (EventList, batch mode)")
async def k8s_audit(request: Request, ctx: ServeContext = Depends(context), _p: Any = require("ingest:write")
                    ) -> dict[str, Any]:
    return await _take("k8s-audit", request, ctx)


@router.post("/falco", openapi_extra={"requestBody": _BODY},
             summary="Falco JSON output as falcosidekick's webhook output posts it")
async def falco(request: Request, ctx: ServeContext = Depends(context), _p: Any = require("ingest:write")
                ) -> dict[str, Any]:
    return await _take("falco", request, ctx)


@router.post("/events", openapi_extra={"requestBody": _LINES},
             summary="JSON lines of any source cnsec detect reads")
async def events(request: Request, ctx: ServeContext = Depends(context), _p: Any = require("ingest:write")
                 ) -> dict[str, Any]:
    return await _take("events", request, ctx)


def mount(app: FastAPI) -> None:
    ctx: ServeContext = app.state.cnsec

    if ctx.settings.bus:  # detection runs in the bus's workers: no local queue, no local worker
        on_startup(app, bus_of(ctx).start)
    else:
        on_startup(app, lambda: start_worker(ctx))
