"""Users and roles, for administrators: who may do what; disable and enable for ``users:admin``
(``POST /v1/users/{name}/disable``, ``/enable``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cnsec.serve.ui import render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/users")
def users(request: Request, who: Annotated[render.Viewer, render.viewer("users")]) -> HTMLResponse:
    iam = who.ctx.iam
    return render.html(request, "users.html", who, active="users", users=iam.list_users(),
                       roles=sorted(iam.roles().values(), key=lambda r: r.name), can_admin=who.can("users:admin"))
