"""Wiring ingest into a server: the queue and the worker, started and stopped with the app."""

from __future__ import annotations

from typing import Any

from cnsec.serve.context import ServeContext
from cnsec.serve.ingest.queue import Queue
from cnsec.serve.ingest.worker import Worker, rules_digest


def detector_factory(ctx: ServeContext) -> Any:
    """A Detector as ``cnsec detect`` builds one from the server's rules (or the one a test set)."""
    custom = ctx.parts.get("detector_factory")
    if custom is not None:
        return custom

    def make() -> Any:
        from cnsec.detect import Detector

        return Detector.load(rules=list(ctx.settings.rules), default_rules=ctx.settings.default_rules,
                             correlate=True)

    return make


def ingest_of(ctx: ServeContext) -> tuple[Queue, Worker]:
    """The server's queue and worker, made on first use."""
    existing = ctx.parts.get("ingest")
    if existing is not None:
        queue_worker: tuple[Queue, Worker] = existing
        return queue_worker
    queue = Queue(ctx.engine, ctx.settings.queue_max_batches)
    worker = Worker(ctx.engine, queue, detector_factory(ctx),
                    digest=rules_digest(ctx.settings.rules, ctx.settings.default_rules),
                    checkpoint_every=ctx.settings.checkpoint_every, clock=ctx.iam.clock,
                    on_stored=ctx.parts.get("on_ingest_stored"))
    ctx.parts["ingest"] = (queue, worker)
    return queue, worker
