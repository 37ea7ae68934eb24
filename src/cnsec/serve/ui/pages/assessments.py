"""What the present assessment of each target found, as three pages: the asset inventory, the risk
register, and the mitigation plan with its patches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import queries, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(request: Request, who: render.Viewer, name: str, target: str, **values: Any) -> HTMLResponse:
    targets = [a.target for a in queries.latest_per_target(who.ctx.engine)]
    return render.html(request, f"{name}.html", who, active=name, target=target, targets=targets, **values)


@router.get("/assets")
def assets(request: Request, who: Annotated[render.Viewer, render.viewer("assets")], target: str = "") -> HTMLResponse:
    return _page(request, who, "assets", target, items=queries.inventory(who.ctx.engine, target or None))


@router.get("/risks")
def risks(request: Request, who: Annotated[render.Viewer, render.viewer("risks")], target: str = "") -> HTMLResponse:
    return _page(request, who, "risks", target, items=queries.register(who.ctx.engine, target or None))


@router.get("/plan")
def plan(request: Request, who: Annotated[render.Viewer, render.viewer("plan")], target: str = "") -> HTMLResponse:
    return _page(request, who, "plan", target, items=queries.register(who.ctx.engine, target or None))
