"""Assessments: start one on an uploaded tarball or a server-side folder, list them, read one's report,
risks and plan. The work is :mod:`cnsec.serve.services.assessments`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cnsec.serve.auth import Principal, require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.errors import ApiError
from cnsec.serve.services import assessments as svc
from cnsec.serve.services import pages, uploads

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])


class PathAssessment(BaseModel):
    target: str = Field(min_length=1, max_length=svc.MAX_TARGET)
    path: str = Field(min_length=1, max_length=4096)


@router.post("", status_code=202, openapi_extra={"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "target"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "a tar archive (.tar, .tar.gz, .tgz, "
                                                                      ".tar.bz2, .tar.xz)"},
        "target": {"type": "string", "description": "what is assessed: findings history is per target"}}}},
    "application/json": {"schema": PathAssessment.model_json_schema()}}}})
async def create(request: Request, principal: Principal = require("assessments:create"),
                 ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Multipart ``file`` (a tarball) + ``target``, or JSON ``{"target", "path"}`` for a folder under the
    server's configured roots. Answers 202 with the assessment (status ``running``); poll it."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        file, target = form.get("file"), form.get("target")
        if not isinstance(file, UploadFile) or not isinstance(target, str):
            raise ApiError(422, "a multipart assessment needs a 'file' (the tarball) and a 'target' field")
        target = svc.check_target(target)
        unpacked = await run_in_threadpool(uploads.unpack, file.file)
        aid = await run_in_threadpool(svc.create, ctx, target, "upload", principal.username)
        svc.start(ctx, aid, target, unpacked.top, render=False, cleanup=unpacked.root)
        item = await run_in_threadpool(svc.get, ctx, aid)
        return {**item, "upload": {"files": unpacked.files, "bytes": unpacked.bytes, "skipped": unpacked.skipped}}
    if kind.startswith("application/json"):
        try:
            body = PathAssessment.model_validate_json(await request.body())
        except ValueError:
            raise ApiError(422, "a path assessment is JSON {\"target\": NAME, \"path\": FOLDER}") from None
        target = svc.check_target(body.target)
        path = svc.server_path(ctx, body.path)
        aid = await run_in_threadpool(svc.create, ctx, target, "path", principal.username)
        svc.start(ctx, aid, target, path, render=True)
        return await run_in_threadpool(svc.get, ctx, aid)
    raise ApiError(415, "send multipart/form-data (file + target) or application/json (target + path)")


@router.get("", dependencies=[require("assessments:read")])
def list_assessments(ctx: ServeContext = Depends(context), target: str | None = None, status: str | None = None,
                     limit: int = pages.DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
    items, nxt = svc.list_assessments(ctx, target, status, limit, cursor)
    return {"items": items, "next": nxt}


@router.get("/{aid}", dependencies=[require("assessments:read")])
def get_assessment(aid: int, ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.get(ctx, aid)


@router.get("/{aid}/report", dependencies=[require("assessments:read")], response_class=Response,
            responses={200: {"content": {"application/json": {}}}})
def get_report(aid: int, request: Request, ctx: ServeContext = Depends(context)) -> Response:
    """The JSON report as ``cnsec assess -f json`` wrote it (sent gzip-encoded when the client accepts it)."""
    import gzip

    data = svc.report_gz(ctx, aid)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(data, media_type="application/json", headers={"Content-Encoding": "gzip",
                                                                      "Vary": "Accept-Encoding"})
    return Response(gzip.decompress(data), media_type="application/json", headers={"Vary": "Accept-Encoding"})


@router.get("/{aid}/risks", dependencies=[require("assessments:read")])
def get_risks(aid: int, ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return {"items": svc.section(ctx, aid, "risks"), "next": None}


@router.get("/{aid}/plan", dependencies=[require("assessments:read")])
def get_plan(aid: int, ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return {"items": svc.section(ctx, aid, "plan"), "next": None}


def mount(app: Any) -> None:
    """At start, assessments a stopped server left running are marked failed (they will not finish)."""
    from cnsec.serve.app import on_startup

    def start() -> None:
        svc.interrupted(app.state.cnsec)

    on_startup(app, start)
