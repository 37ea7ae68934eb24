"""cnsec serve: the platform server (API, dashboard, ingest) over the one store, and the JetStream bus
that spreads detection over workers.

Public face (tests/test_architecture.py): :func:`create_app` and :class:`Settings` for embedding and
tests, :class:`ServeContext`; ``cnsec detect --bus`` uses the bus through ``BusConfig``,
``publish_records``, ``retained`` and ``run_worker``. Loaded on first use (:mod:`cnsec.lazy`) so the
CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "create_app": "app", "Settings": "settings", "ServeContext": "context",
    "BusConfig": "bus.config",
    "BusError": "bus.config",
    "publish_records": "bus.publisher",
    "retained": "bus.replay",
    "run_worker": "bus.worker",
}

__all__ = ["BusConfig", "BusError", "ServeContext", "Settings", "create_app", "publish_records", "retained",
           "run_worker"]

if TYPE_CHECKING:
    from cnsec.serve.app import create_app
    from cnsec.serve.bus.config import BusConfig, BusError
    from cnsec.serve.bus.publisher import publish_records
    from cnsec.serve.bus.replay import retained
    from cnsec.serve.bus.worker import run_worker
    from cnsec.serve.context import ServeContext
    from cnsec.serve.settings import Settings

__getattr__ = exports(__name__, _WHERE)
