"""cnsec serve: the server side of cnsec; here, the JetStream bus that spreads detection over workers.

The public face other pillars may import (tests/test_architecture.py): ``cnsec detect --bus`` uses the
bus through these names, loaded on first use (:mod:`cnsec.lazy`) so the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "BusConfig": "bus.config",
    "BusError": "bus.config",
    "publish_records": "bus.publisher",
    "retained": "bus.replay",
    "run_worker": "bus.worker",
}

__all__ = ["BusConfig", "BusError", "publish_records", "retained", "run_worker"]

if TYPE_CHECKING:
    from cnsec.serve.bus.config import BusConfig, BusError
    from cnsec.serve.bus.publisher import publish_records
    from cnsec.serve.bus.replay import retained
    from cnsec.serve.bus.worker import run_worker

__getattr__ = exports(__name__, _WHERE)
