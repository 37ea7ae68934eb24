"""cnsec serve: the platform server (API, dashboard, ingest) over the one store.

Public face (tests/test_architecture.py): :func:`create_app` and :class:`Settings` for embedding and
tests, :class:`ServeContext`. Loaded on first use (:mod:`cnsec.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"create_app": "app", "Settings": "settings", "ServeContext": "context"}

__all__ = ["ServeContext", "Settings", "create_app"]

if TYPE_CHECKING:
    from cnsec.serve.app import create_app
    from cnsec.serve.context import ServeContext
    from cnsec.serve.settings import Settings

__getattr__ = exports(__name__, _WHERE)
