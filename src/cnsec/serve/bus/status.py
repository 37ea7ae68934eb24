"""What the bus holds, read back: how far each partition's checkpoint is behind its last event, and the
alert updates (folded by id they are the alerts). For operators, the tests and the bench."""

from __future__ import annotations

from typing import Any

import orjson

from cnsec.serve.bus.config import ALERTS, CHECKPOINTS, EVENTS, SETTINGS, BusConfig, connect, events_subject


async def lag(cfg: BusConfig) -> dict[int, tuple[int, int]]:
    """Partition -> (the stream sequence its checkpoint reflects, its last event's sequence), for the
    partitions that hold events; equal numbers: worked to the end."""
    from nats.js.errors import NotFoundError

    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        obs = await js.object_store(CHECKPOINTS)
        parts = int((await (await js.key_value(SETTINGS)).get("partitions")).value or b"0")
        out: dict[int, tuple[int, int]] = {}
        for p in range(parts):
            try:
                last = (await js.get_last_msg(EVENTS, events_subject(p))).seq
            except NotFoundError:
                continue
            try:
                seq = int(orjson.loads((await obs.get_info(f"p{p}")).description or "{}").get("seq", 0))
            except NotFoundError:
                seq = 0
            out[p] = (seq, last)
        return out
    finally:
        await nc.close()


async def alert_updates(cfg: BusConfig) -> list[dict[str, Any]]:
    """Every alert update the alerts stream holds, in stream order."""
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        total = (await js.stream_info(ALERTS)).state.messages
        if not total:
            return []
        sub = await js.pull_subscribe("cnsec.alerts.*", stream=ALERTS, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
        out: list[dict[str, Any]] = []
        while len(out) < total:
            out += [orjson.loads(m.data) for m in await sub.fetch(1024, timeout=10)]
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def fold_updates(updates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Alert updates folded by id (the highest count wins): the alerts a one-process run prints."""
    out: dict[str, dict[str, Any]] = {}
    for u in updates:
        cur = out.get(u["id"])
        if cur is None or u["count"] >= cur["count"]:
            out[u["id"]] = u
    return out
