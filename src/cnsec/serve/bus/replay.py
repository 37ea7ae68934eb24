"""Reading retained events back (``cnsec detect --bus URL --replay --since DATE --rules DIR``): backtest
rules on what the bus keeps, without disturbing the workers (an ephemeral consumer, no leases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cnsec.serve.bus.codec import BadMessage, Group, decode
from cnsec.serve.bus.config import EVENTS, BusConfig, connect, ensure_bus


async def retained(cfg: BusConfig, since: datetime | None, consume: Callable[[list[Group]], object],
                   on_bad: Callable[[int, str], object] | None = None) -> int:
    """Hand the events the stream holds (those stored at or after ``since``; all without it) to
    ``consume``, one message's groups at a time, in stream order (each partition's events in their
    order), up to the last message stored when the replay began. Returns how many events."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        await ensure_bus(js, cfg)
        info = await js.stream_info(EVENTS)
        last = info.state.last_seq
        if not info.state.messages or last == 0:
            return 0
        conf = ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0,
                              deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
                              opt_start_time=since)
        sub = await js.pull_subscribe("cnsec.events.*", stream=EVENTS, config=conf)
        events = 0
        try:
            while True:
                try:
                    msgs = await sub.fetch(256, timeout=2.0)
                except TimeoutError:
                    break  # nothing at or after ``since``, or nothing more
                done = False
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    if seq > last:
                        done = True
                        break
                    stored = msg.metadata.timestamp
                    if since is not None and stored is not None and stored < since:
                        continue  # the server starts at the beginning when ``since`` is past the end
                    try:
                        groups = decode(msg.data)
                    except BadMessage as exc:
                        if on_bad is not None:
                            on_bad(seq, str(exc))
                        continue
                    events += sum(len(g[2]) for g in groups)
                    consume(groups)
                    if seq == last or msg.metadata.num_pending == 0:
                        done = True
                        break
                if done:
                    break
        finally:
            await sub.unsubscribe()
        return events
    finally:
        await nc.close()
