"""Wiring ingest into a server: the queue and the worker, started and stopped with the app."""

from __future__ import annotations

import logging
from typing import Any

from cnsec.serve.context import ServeContext
from cnsec.serve.ingest.queue import Queue
from cnsec.serve.ingest.worker import Worker


def detector_factory(ctx: ServeContext) -> Any:
    """A Detector as ``cnsec detect`` builds one from the server's rules (or the one a test set)."""
    custom = ctx.parts.get("detector_factory")
    if custom is not None:
        return custom

    def make() -> Any:
        s = ctx.settings
        return load_detector(list(s.rules), s.default_rules, s.threats, s.lateness)

    return make


def load_detector(rules: list[str], default_rules: bool, threats: bool, lateness: float) -> Any:
    """``Detector.load`` as the server's workers (thread or process) make it, each rule that did not
    load named in the log as ``cnsec detect`` names it on stderr (never silent)."""
    from cnsec.detect import Detector

    det = Detector.load(rules=rules, default_rules=default_rules, correlate=threats, lateness=lateness)
    for f in det.load_failures:
        logging.getLogger("cnsec.serve.ingest").warning("rule not loaded: %s: %s", f.path, f.reason)
    return det


def use_wal(ctx: ServeContext) -> None:
    """SQLite: write-ahead logging. A commit then costs one fsync of the log (measured here: 5.6 ms a
    queued webhook batch against 33 ms with the default rollback journal), readers (the worker, the
    pages) do not wait for the writer, and with ``synchronous=FULL`` (kept) a committed batch survives
    a crash of the process and of the machine. The mode is stored in the database file."""
    if ctx.engine.dialect.name != "sqlite" or not ctx.settings.sqlite_wal:
        return
    from sqlalchemy.exc import OperationalError

    try:
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    except OperationalError as exc:  # a read-only or network file system: the default journal works
        logging.getLogger("cnsec.serve.ingest").warning("SQLite WAL mode not available (%s)", exc)


def start_worker(ctx: ServeContext) -> Any:
    """Start detection as the settings say (``ingest_worker``): a process of its own (what ``cnsec
    serve`` runs), a thread of the server (tests: no process per app), or none; the stop function."""
    mode = ctx.settings.ingest_worker
    use_wal(ctx)
    queue, worker = ingest_of(ctx)
    if mode == "process" and "detector_factory" not in ctx.parts:
        from cnsec.serve.ingest.process import WorkerProcess

        proc = WorkerProcess(ctx.iam.url, queue, ctx.settings.rules, ctx.settings.default_rules,
                             ctx.settings.checkpoint_every, ctx.settings.threats, ctx.settings.lateness)
        ctx.parts["ingest_process"] = proc
        proc.start()
        return proc.stop
    queue.load_depth()
    if mode == "none":
        return None
    worker.start()
    return worker.stop


def ingest_of(ctx: ServeContext) -> tuple[Queue, Worker]:
    """The server's queue and worker, made on first use."""
    existing = ctx.parts.get("ingest")
    if existing is not None:
        queue_worker: tuple[Queue, Worker] = existing
        return queue_worker
    queue = Queue(ctx.engine, ctx.settings.queue_max_batches)
    worker = Worker(ctx.engine, queue, detector_factory(ctx), checkpoint_every=ctx.settings.checkpoint_every,
                    clock=ctx.iam.clock, on_stored=ctx.parts.get("on_ingest_stored"))
    ctx.parts["ingest"] = (queue, worker)
    return queue, worker
