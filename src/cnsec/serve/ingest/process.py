"""The detection worker as a process of its own, so that ingest and detection use two cores.

The server process parses and queues requests; detection (the rules, correlation, snapshots) runs in
a child process started and stopped with the app. Python runs one thread at a time per process, and
on one process the two would take turns: measured on this machine's shared cores, a webhook batch of
400 events costs about 5 ms to check and queue and 15-25 ms to detect (bench/serve_bench.py).

The child dies with the server (Linux ``PR_SET_PDEATHSIG``, and a check of its parent on every pass):
a server killed with SIGKILL leaves no worker behind to race the next one. If the child dies on its
own the server starts another; both read and write only through the database.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from typing import Any

from cnsec.serve.ingest.queue import Queue

log = logging.getLogger("cnsec.serve.ingest")

#: Seconds the server waits for a new worker to load its rules before serving without it.
READY_TIMEOUT = 120.0


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent check on every pass still ends the loop


def child_main(db_url: str, rules: tuple[str, ...], default_rules: bool, checkpoint_every: float,
               wake: Any, stop: Any, ready: Any, removed: Any, fed: Any, stored: Any) -> None:
    """The worker process: its own engine, its own detector, the same loop as the thread worker."""
    _die_with_parent()
    parent = os.getppid()
    from cnsec.serve.logs import configure

    configure()
    from cnsec.serve.ingest.worker import Worker, rules_digest
    from cnsec.store.engine import new_engine

    engine = new_engine(db_url)

    def factory() -> Any:
        from cnsec.detect import Detector

        return Detector.load(rules=list(rules), default_rules=default_rules, correlate=True)

    def on_stored(events: int, alerts: int) -> None:
        with fed.get_lock():
            fed.value += events
        with stored.get_lock():
            stored.value += alerts

    queue = Queue(engine, 0, wake=wake, removed_counter=removed)
    worker = Worker(engine, queue, factory, digest=rules_digest(rules, default_rules),
                    checkpoint_every=checkpoint_every, on_stored=on_stored)
    ready.set()
    try:
        worker.run_until(stop, alive=lambda: os.getppid() == parent)
    finally:
        try:
            worker.step(force_checkpoint=True)
        except Exception as exc:
            log.error("ingest: final checkpoint failed (%s); the queue is replayed at next start", exc)
        engine.dispose()


class WorkerProcess:
    """Starts the child, restarts it if it dies, stops it with the app."""

    def __init__(self, db_url: str, queue: Queue, rules: tuple[str, ...], default_rules: bool,
                 checkpoint_every: float) -> None:
        self.mp = multiprocessing.get_context("spawn")
        self.args = (db_url, rules, default_rules, checkpoint_every)
        self.queue = queue
        self.wake = self.mp.Event()
        self.stop_event = self.mp.Event()
        self.removed = self.mp.Value("q", 0)
        self.fed = self.mp.Value("q", 0)
        self.stored = self.mp.Value("q", 0)
        queue.wake = self.wake
        queue.removed_counter = self.removed
        self.proc: Any = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.restarts = 0

    def _spawn(self) -> None:
        ready = self.mp.Event()
        self.proc = self.mp.Process(target=child_main, name="cnsec-ingest", daemon=True,
                                    args=(*self.args, self.wake, self.stop_event, ready, self.removed, self.fed,
                                          self.stored))
        self.proc.start()
        if not ready.wait(READY_TIMEOUT):
            log.error("ingest: the detection worker did not start within %.0f s", READY_TIMEOUT)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            if self.proc is not None and not self.proc.is_alive():
                self.restarts += 1
                log.error("ingest: the detection worker exited (code %s); starting another", self.proc.exitcode)
                self._spawn()

    def alive(self) -> bool:
        return self.proc is not None and bool(self.proc.is_alive())

    def start(self) -> None:
        self.queue.load_depth()
        self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="cnsec-ingest-watch", daemon=True)
        self._monitor.start()

    def stop(self) -> None:
        self._stopping.set()
        self.stop_event.set()
        self.wake.set()
        if self.proc is not None:
            self.proc.join(timeout=60)
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(timeout=5)
