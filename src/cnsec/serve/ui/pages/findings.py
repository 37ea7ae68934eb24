"""The findings table: every finding's present state, filtered and sorted, with bulk triage for those who
may triage (the triage itself is ``POST /v1/findings/triage``, from the page's script)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import queries, render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/findings")
def findings(request: Request, who: Annotated[render.Viewer, render.viewer("findings")], target: str = "",
             severity: str = "", status: str = "present", triage: str = "", assignee: str = "", q: str = "",
             sort: str = "severity", page: int = 1) -> HTMLResponse:
    flt = queries.FindingFilter(target, severity, status, triage, assignee, q[:200],
                                sort if sort in queries.FINDING_SORTS else "severity", page)
    return render.html(request, "findings.html", who, active="findings", flt=flt,
                       result=queries.findings(who.ctx.engine, flt), severities=queries.SEVERITIES,
                       sorts=queries.FINDING_SORTS, can_triage=who.can("findings:triage"))
