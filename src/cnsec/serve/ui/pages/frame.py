"""The dashboard's frame: its static files (htmx, the stylesheet, the script), the answers for "log in
first" and "not for you"."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from cnsec.serve.ui import render


def mount(app: FastAPI) -> None:
    app.mount(render.STATIC_PREFIX, StaticFiles(directory=render.HERE / "static"), name="ui-static")
    render.install(app)
