"""The dashboard's frame: its static files (htmx, the stylesheet, the script), the answers for "log in
first" and "not for you", and the way in from ``/``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from cnsec.serve.auth import public
from cnsec.serve.ui import render

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[public()])
@router.get("/ui", dependencies=[public()])
def home() -> RedirectResponse:
    return RedirectResponse(render.PAGES["overview"].path, status_code=303)


@router.get("/favicon.ico", dependencies=[public()])
def favicon() -> RedirectResponse:
    """Browsers ask for it on pages that name no icon (the API's JSON answers)."""
    return RedirectResponse(f"{render.STATIC_PREFIX}/favicon.svg", status_code=301)


def mount(app: FastAPI) -> None:
    app.mount(render.STATIC_PREFIX, StaticFiles(directory=render.HERE / "static"), name="ui-static")
    render.install(app)
