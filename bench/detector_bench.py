"""The engine as a library: ``Detector.feed`` on batches (as a bus worker and ``cnsec serve``'s ingest call
it) against ``cnsec detect``'s own loop over the same events, in one run.

Input: detect_bench's (the real Kubernetes audit and CloudTrail samples of ../shared/corpora/detect/logs
replicated with ids, times and addresses varied per line; half audit, half CloudTrail), --events lines.
Rules: the corpus's Sigma rules and the bundled pack, as detect_bench. Legs, each timed by this process's
CPU time (user + system) with the rules loaded beforehand, taking turns --repeat times (median reported):

  detect  ``cnsec detect -f jsonl``'s loop: Engine.scan_file over each file into the AlertBook, alerts
          whose window has passed closed every 2000 hits (no output written)
  feed    the same files read in batches of --batch lines (list of bytes) and handed to Detector.feed;
          the updates it returns are the output (nothing written either)

  feed    the same, ``gc.freeze()`` after loading (the rules and indexes then stay out of the cyclic
          collector's passes, which ``cnsec detect`` pauses for its whole scan; feed pauses it per call)

Also measured once: feed on batches of 1 and 50 lines (per-call overhead), and snapshot: its size and
time at the end of the input (open alerts with their evidence).

Last line: ``RESULT feed_eps=<events/s> feed_frozen_eps=<events/s> detect_eps=<events/s>
ratio=<feed/detect> ratio_frozen=<…> batch=<n> snapshot_ms=<ms> snapshot_kb=<KiB>``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import time
from pathlib import Path
from typing import Any

from detect_bench import CORPUS, RULES, make_inputs  # the script's directory is on the path


def detect_leg(paths: list[Path]) -> tuple[float, int]:
    """CPU seconds of cnsec detect's jsonl loop over ``paths`` and the alerts it ends with."""
    from cnsec.detect.alerts import AlertBook
    from cnsec.detect.cli import _load
    from cnsec.detect.engine import Engine

    loaded = _load([str(RULES)], True)
    engine = Engine(loaded.rules)
    book = AlertBook()
    alerts = 0

    def close() -> None:
        nonlocal alerts
        book.close_expired(book.last_time)
        alerts += len(book.take_closed())
    book.every(2000, close)
    gc.collect()
    t = time.process_time()
    for p in paths:
        engine.scan_file(str(p), None, book.add_event)
    alerts += len(book.alerts())
    return time.process_time() - t, alerts


def feed_leg(paths: list[Path], batch: int, flush: bool = True, freeze: bool = False) -> tuple[float, int, Any]:
    """CPU seconds of Detector.feed over ``paths`` in batches of ``batch`` lines, the alerts (updates
    folded by id) and the detector (``flush``: at the end of the input; ``freeze``: ``gc.freeze()``
    after loading, as docs/detection.md advises a process running a detector)."""
    from cnsec.detect import Detector

    det = Detector.load(rules=[str(RULES)])
    gc.collect()
    if freeze:
        gc.freeze()
    try:
        t = time.process_time()
        ids = _feed(det, paths, batch, flush)
        return time.process_time() - t, len(ids), det
    finally:
        gc.unfreeze()


def _feed(det: Any, paths: list[Path], batch: int, flush: bool) -> set[str]:
    """The ids of the alerts feeding ``paths`` in batches updated."""
    ids: set[str] = set()
    for p in paths:
        name = str(p)
        with open(p, "rb", buffering=1 << 20) as fh:
            while True:
                lines = list(itertools.islice(fh, batch))
                if not lines:
                    break
                for a in det.feed(lines, name=name):
                    ids.add(a.id)
    for a in det.flush() if flush else ():
        ids.add(a.id)
    return ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    paths = make_inputs(args.events)
    n = args.events
    detect_s: list[float] = []
    feed_s: list[float] = []
    frozen_s: list[float] = []
    for _ in range(max(1, args.repeat)):
        s, n_detect = detect_leg(paths)
        detect_s.append(s)
        s, n_feed, det = feed_leg(paths, args.batch)
        feed_s.append(s)
        s, n_frozen, det = feed_leg(paths, args.batch, freeze=True)
        frozen_s.append(s)
        if not n_feed == n_frozen == n_detect:
            print(f"MISMATCH: detect ended with {n_detect} alerts, feed with {n_feed} and {n_frozen}",
                  file=sys.stderr)
            return 1
    d = sorted(detect_s)[len(detect_s) // 2]
    f = sorted(feed_s)[len(feed_s) // 2]
    fz = sorted(frozen_s)[len(frozen_s) // 2]
    print(f"detect  : {n / d:,.0f} events/s ({', '.join(f'{x:.2f}' for x in detect_s)} s CPU; {n_detect} alerts)")
    print(f"feed    : {n / f:,.0f} events/s in batches of {args.batch} "
          f"({', '.join(f'{x:.2f}' for x in feed_s)} s CPU; {n_feed} alerts, the same)")
    print(f"feed    : {n / fz:,.0f} events/s in batches of {args.batch}, gc.freeze() after loading "
          f"({', '.join(f'{x:.2f}' for x in frozen_s)} s CPU)")
    small = paths if n <= 20_000 else make_inputs(20_000)
    for b in (1, 50):
        s, _, _ = feed_leg(small, b)
        print(f"feed    : {20_000 / s:,.0f} events/s in batches of {b} (20,000 events)")
    # the state at the end of the input, before flush: every alert still open
    s, _, det = feed_leg(paths[:1], args.batch, flush=False)
    t = time.process_time()
    blob = det.snapshot()
    snap_ms = (time.process_time() - t) * 1000
    t = time.process_time()
    type(det).load(rules=[str(RULES)]).restore(blob)
    restore_ms = (time.process_time() - t) * 1000
    print(f"snapshot: {len(blob) / 1024:,.0f} KiB, {snap_ms:.0f} ms to take, {restore_ms:.0f} ms to load and "
          f"restore (the open alerts after {paths[0].name})")
    print(f"RESULT feed_eps={n / f:.0f} feed_frozen_eps={n / fz:.0f} detect_eps={n / d:.0f} ratio={d / f:.3f} "
          f"ratio_frozen={d / fz:.3f} batch={args.batch} snapshot_ms={snap_ms:.0f} "
          f"snapshot_kb={len(blob) / 1024:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
