"""Detection: rules over audit logs (``cnsec detect``), threat correlation, alerts.

The public face other parts may import (the bus worker, ``cnsec serve``'s ingest): :class:`Detector`,
the engine as a library (events in, alert updates out, state snapshot and restore; see
:mod:`cnsec.detect.detector`). Loaded on first use: ``import cnsec.detect.cli`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"Detector": "detector", "SnapshotError": "snapshot"}

__all__ = ["Detector", "SnapshotError"]

if TYPE_CHECKING:
    from cnsec.detect.detector import Detector
    from cnsec.detect.snapshot import SnapshotError

__getattr__ = exports(__name__, _WHERE)
