"""The alerts timeline: alerts by the day they were last seen, each with its evidence; acknowledge and
close for those who may (``POST /v1/alerts/{id}/ack``, ``/close``)."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import charts, queries, render

router = APIRouter(prefix="/ui", include_in_schema=False)
STATUSES = ("open", "acknowledged", "closed")


@router.get("/alerts")
def alerts(request: Request, who: Annotated[render.Viewer, render.viewer("alerts")], status: str = "",
           severity: str = "") -> HTMLResponse:
    rows = queries.alerts(who.ctx.engine, status if status in STATUSES else "",
                          severity if severity in queries.SEVERITIES else "")
    picture = charts.timeline([charts.Mark(a.first_seen, a.last_seen, a.severity, f"{render.when(a.first_seen)} "
                                           f"{a.severity}: {a.title} ({a.status})", f"alert-{a.id}")
                               for a in rows if a.severity in queries.SEVERITIES], "alerts over time")
    days = [(d, list(items)) for d, items in groupby(rows, key=lambda a: render.day(a.last_seen))]
    return render.html(request, "alerts.html", who, active="alerts", days=days, status=status, severity=severity,
                       statuses=STATUSES, severities=queries.SEVERITIES, count=len(rows), picture=picture,
                       can_ack=who.can("alerts:ack"))
