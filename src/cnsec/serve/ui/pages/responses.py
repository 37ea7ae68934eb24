"""The responses log: each planned response with its dry run, and approve / reject / apply for those who
may (``POST /v1/responses/{id}/approve``, ``/reject``, ``/apply``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import queries, render

router = APIRouter(prefix="/ui", include_in_schema=False)
STATUSES = ("planned", "approved", "applied", "failed", "rejected")


@router.get("/responses")
def responses(request: Request, who: Annotated[render.Viewer, render.viewer("responses")],
              status: str = "") -> HTMLResponse:
    return render.html(request, "responses.html", who, active="responses", status=status, statuses=STATUSES,
                       rows=queries.responses(who.ctx.engine, status if status in STATUSES else ""),
                       can_approve=who.can("responses:approve"), can_apply=who.can("responses:apply"))
