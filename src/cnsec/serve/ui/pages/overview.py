"""The overview: what is at risk now, how the risk moved over assessments, and alerts per day."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import charts, queries, render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")  # /ui as well as /ui/
@router.get("/")
def overview(request: Request, who: Annotated[render.Viewer, render.viewer("overview")]) -> HTMLResponse:
    engine = who.ctx.engine
    top = queries.risk_by_asset(engine)
    by_asset = charts.hbars([charts.Bar(f"{r.asset} ({r.target})" if len({x.target for x in top}) > 1 else r.asset,
                                        r.score, f"level-{r.level}", f"{r.asset}: {r.level}, score {r.score}, "
                                        f"{r.risks} risk(s)") for r in top], "risk by asset (highest score)")
    trend = charts.trend(queries.risk_trend(engine), "risk over assessments")
    per_day = charts.per_day(queries.alerts_per_day(engine), "alerts per day") if who.can("alerts:read") else None
    return render.html(request, "overview.html", who, active="overview", totals=queries.totals(engine),
                       by_asset=by_asset, trend=trend, per_day=per_day, recent=queries.assessments(engine, 10))
