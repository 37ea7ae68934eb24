"""Detection: rules over audit logs (``cnsec detect``), threat correlation, alerts.

The public face other parts may import (the bus worker, ``cnsec serve``'s ingest): :class:`Detector`,
the engine as a library (events in, alert updates out, state snapshot and restore; see
:mod:`cnsec.detect.detector`), :func:`alert_record` (an update as JSON, with its id),
``DEFAULT_LATENESS``, ``MAX_LATENESS`` and :func:`check_lateness` (how late an event may come and still
be correlated), :class:`SnapshotError`,
:func:`sniff_source` and :func:`event_records` (an ingest request's events keyed
for the bus, as ``cnsec detect --publish`` keys a file's). Loaded on first use: ``import cnsec.detect.cli``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"DEFAULT_LATENESS": "correlate", "MAX_LATENESS": "correlate", "check_lateness": "correlate",
          "Detector": "detector", "SnapshotError": "snapshot", "alert_record": "detector", "sniff_source": "sources",
          "event_records": "bus_adapter"}

__all__ = [
    "DEFAULT_LATENESS",
    "MAX_LATENESS",
    "Detector",
    "SnapshotError",
    "alert_record",
    "check_lateness",
    "event_records",
    "sniff_source",
]

if TYPE_CHECKING:
    from cnsec.detect.bus_adapter import event_records
    from cnsec.detect.correlate import DEFAULT_LATENESS, MAX_LATENESS, check_lateness
    from cnsec.detect.detector import Detector, alert_record
    from cnsec.detect.snapshot import SnapshotError
    from cnsec.detect.sources import sniff_source

__getattr__ = exports(__name__, _WHERE)
