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
import time
from typing import Any

from cnsec.serve.ingest.queue import Queue

log = logging.getLogger("cnsec.serve.ingest")

#: Seconds the server waits for a new worker to load its rules before serving without it.
READY_TIMEOUT = 120.0
#: How often the worker looks at the shared flags while it waits (seconds).
POLL = 0.02


class SharedFlag:
    """An event across the two processes made of one shared integer, bumped by one side and watched by
    the other. Not ``multiprocessing.Event``: its named semaphores outlive a server killed with
    SIGKILL (the resource tracker then warns of leaked semaphores on the server's stderr), and a
    process that dies holding one would block the other."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.seen = 0

    def set(self) -> None:
        self.value.value += 1

    def is_set(self) -> bool:
        return int(self.value.value) != self.seen

    def clear(self) -> None:
        self.seen = int(self.value.value)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL, left))
        return True


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent check on every pass still ends the loop


def child_main(db_url: str, rules: tuple[str, ...], default_rules: bool, checkpoint_every: float,
               threats: bool, lateness: float, wake_value: Any, stop_value: Any, ready: Any, removed: Any,
               fed: Any, stored: Any, problems: Any) -> None:
    """The worker process: its own engine, its own detector, the same loop as the thread worker."""
    _die_with_parent()
    wake, stop = SharedFlag(wake_value), SharedFlag(stop_value)
    parent = os.getppid()
    from cnsec.serve.logs import configure

    configure()
    from cnsec.serve.ingest.worker import Worker
    from cnsec.store.engine import new_engine

    engine = new_engine(db_url)

    def factory() -> Any:
        from cnsec.serve.ingest.part import load_detector

        # the loaded rules leave the collector's sight with the first pass (Freezer, below)
        return load_detector(list(rules), default_rules, threats, lateness)

    problems_before = int(problems.value)  # cumulative across restarts of this process

    def on_stored(events: int, alerts: int) -> None:  # this process is the only writer of all three
        fed.value += events
        stored.value += alerts
        problems.value = problems_before + worker.problems_seen

    # what the detector holds after a pass (the correlator's reorder buffer: every hit of the last
    # ``lateness`` seconds, 100,000s of event dicts at 20,000 events/s) leaves the collector's sight
    from cnsec.serve.collector import Freezer

    after_pass = Freezer().after_pass

    queue = Queue(engine, 0, wake=wake, removed_counter=removed)
    worker = Worker(engine, queue, factory, checkpoint_every=checkpoint_every, on_stored=on_stored,
                    after_pass=after_pass)
    ready.value = 1
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
                 checkpoint_every: float, threats: bool, lateness: float) -> None:
        self.mp = multiprocessing.get_context("spawn")
        self.args = (db_url, rules, default_rules, checkpoint_every, threats, lateness)
        self.queue = queue
        # shared integers without locks (each has one writer): no semaphore to leak
        self.wake_value = self.mp.RawValue("q", 0)
        self.stop_value = self.mp.RawValue("q", 0)
        self.removed = self.mp.RawValue("q", 0)
        self.fed = self.mp.RawValue("q", 0)
        self.stored = self.mp.RawValue("q", 0)
        self.problems = self.mp.RawValue("q", 0)
        self.wake = SharedFlag(self.wake_value)
        queue.wake = self.wake
        queue.removed_counter = self.removed
        self.proc: Any = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.restarts = 0

    def _spawn(self) -> None:
        ready = self.mp.RawValue("q", 0)
        self.proc = self.mp.Process(target=child_main, name="cnsec-ingest", daemon=True,
                                    args=(*self.args, self.wake_value, self.stop_value, ready, self.removed,
                                          self.fed, self.stored, self.problems))
        self.proc.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.value and self.proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not ready.value:
            log.error("ingest: the detection worker did not start (exit code %s)", self.proc.exitcode)

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
        self.stop_value.value = 1
        self.wake.set()
        if self.proc is not None:
            self.proc.join(timeout=60)
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(timeout=5)
