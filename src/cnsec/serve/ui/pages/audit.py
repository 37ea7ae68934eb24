"""The audit log: the IAM hash chain's newest entries, and whether the chain is intact."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/audit")
def audit(request: Request, who: Annotated[render.Viewer, render.viewer("audit")], user: str = "",
          limit: int = 200) -> HTMLResponse:
    iam = who.ctx.iam
    entries = list(reversed(iam.audit_entries(max(1, min(limit, 1000)), user.strip() or None)))
    return render.html(request, "audit.html", who, active="audit", entries=entries, user=user,
                       chain=iam.verify_audit_chain())
