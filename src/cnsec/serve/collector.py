"""The cyclic garbage collector in a long-running detection process (the ingest worker, a bus worker).

Detection keeps what it has seen: alerts with their evidence (whole parsed events), a correlator's
reorder buffer. Those are millions of container objects that are never cyclic garbage (they leave by
reference counting), yet every collection of their generation walks them all: measured at 30% of the
ingest worker's time and a tenth of a bus worker's. So after each pass of work everything alive is
frozen (``gc.freeze``: out of the collector's sight, O(1)), and what is made afterwards is collected
as usual. A cycle that became garbage after it was frozen would stay, so every
:data:`FULL_COLLECTION_EVERY` seconds everything is unfrozen and collected once.
"""

from __future__ import annotations

import gc
import time

#: seconds between full collections (unfreeze, collect, freeze again)
FULL_COLLECTION_EVERY = 600.0


class Freezer:
    """Call :meth:`after_pass` after each pass of work (a batch fed, a message handled)."""

    def __init__(self, every: float = FULL_COLLECTION_EVERY) -> None:
        self.every = every
        self._collected = time.monotonic()

    def after_pass(self) -> None:
        now = time.monotonic()
        if now - self._collected >= self.every:
            gc.unfreeze()
            gc.collect()
            self._collected = time.monotonic()
        gc.freeze()
