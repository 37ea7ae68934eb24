"""The ``cnsec serve`` application: one FastAPI app, its parts found by discovery.

Every module of :mod:`cnsec.serve.routes` (and of :mod:`cnsec.serve.ui.pages`, the dashboard) may define
``router`` (an ``APIRouter``, included as is) and ``mount(app)`` (for what a router cannot say: static
files, background workers started and stopped with the app). A new resource is one module there plus
its tests; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from cnsec import __version__
from cnsec.serve import errors
from cnsec.serve.context import ServeContext
from cnsec.serve.middleware import BodyLimit, Observe, SecurityHeaders
from cnsec.serve.settings import Settings

#: The packages whose modules are the server's parts, in inclusion order.
PART_PACKAGES = ("cnsec.serve.routes", "cnsec.serve.ui.pages")


def parts() -> Iterator[ModuleType]:
    """Every part module, sorted by name within its package (a stable route order for the spec)."""
    for package_name in PART_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError as exc:
            if exc.name and package_name.startswith(exc.name):
                continue  # that package is not part of this build
            raise
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                yield importlib.import_module(f"{package_name}.{info.name}")


def create_app(settings: Settings | None = None, *, context: ServeContext | None = None) -> FastAPI:
    """The app over ``context`` (tests), else over a context opened from ``settings``."""
    settings = context.settings if context is not None else (settings or Settings())
    ctx = context or ServeContext.open(settings)
    hooks: list[Any] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stops = []
        for start in hooks:
            stop = await start() if _is_coroutine_function(start) else start()
            if stop is not None:
                stops.append(stop)
        try:
            yield
        finally:
            for stop in reversed(stops):
                result = stop()
                if hasattr(result, "__await__"):
                    await result

    app = FastAPI(title="cnsec", version=__version__, openapi_url="/v1/openapi.json", docs_url=None,
                  redoc_url=None, lifespan=lifespan,
                  description="The cnsec platform API: assessments, findings and triage, risks and plan, "
                              "alerts, responses, the audit log, and ingest of cluster audit events.")
    app.state.cnsec = ctx
    app.state.startup_hooks = hooks
    errors.install(app)
    for module in parts():
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
        mount = getattr(module, "mount", None)
        if callable(mount):
            mount(app)
    # outermost last: headers on every answer (a 413 and a 500 too), then the log line and metrics
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(Observe, ctx=ctx)
    app.add_middleware(SecurityHeaders, settings=settings)
    return app


def all_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app with its full path and dependencies, those of included routers too.

    FastAPI (0.16x) keeps an included router as one ``_IncludedRouter`` entry of ``app.routes``, not
    as its routes: a walk over ``app.routes`` alone sees none of the parts' routes (and a test that
    checks each one passes having checked nothing)."""
    try:
        from fastapi.routing import _iter_included_route_candidates
    except ImportError:  # a FastAPI that lists included routes in app.routes itself
        return list(app.routes)
    return list(_iter_included_route_candidates(app.routes))


def on_startup(app: FastAPI, start: Any) -> None:
    """Run ``start()`` when the app starts; what it returns (if callable) runs when the app stops.
    For a part's ``mount``: a worker thread, a queue drainer."""
    app.state.startup_hooks.append(start)


def _is_coroutine_function(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)
