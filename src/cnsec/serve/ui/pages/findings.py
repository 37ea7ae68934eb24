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


@router.get("/findings/{fid}")
def finding(request: Request, fid: str, who: Annotated[render.Viewer, render.viewer("findings")]) -> HTMLResponse:
    """One finding: where, its history over the target's assessments, how to fix it, triage and comments
    (read by the findings service, the same answer as ``GET /v1/findings/{fid}``)."""
    from cnsec.serve.errors import ApiError
    from cnsec.serve.services.findings import get_finding

    try:
        f = get_finding(who.ctx, fid)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return render.html(request, "missing.html", who, status_code=404, active="findings", what="finding")
    return render.html(request, "finding.html", who, active="findings", f=f, rec=f.get("finding") or {},
                       history=list(reversed(f.get("history") or [])), comments=f.get("comments") or [],
                       can_triage=who.can("findings:triage"))
