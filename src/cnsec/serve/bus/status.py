"""What the bus holds, read back: how far each partition's checkpoint is behind its last event, and the
alert updates (folded by id they are the alerts). For operators, the tests and the bench."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from cnsec.serve.bus.config import (
    ALERTS,
    CHECKPOINTS,
    EVENTS,
    SETTINGS,
    BusConfig,
    connect,
    events_incarnation,
    events_subject,
    of_stream,
)


async def lag(cfg: BusConfig) -> dict[int, tuple[int, int]]:
    """Partition -> (the stream sequence its checkpoint reflects, its last event's sequence), for the
    partitions that hold events; equal numbers: worked to the end. A checkpoint of an events stream
    since deleted and made again reflects nothing of this one (0)."""
    from nats.js.errors import NotFoundError

    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        obs = await js.object_store(CHECKPOINTS)
        parts = int((await (await js.key_value(SETTINGS)).get("partitions")).value or b"0")
        try:
            incarnation = await events_incarnation(js)
        except NotFoundError:  # no events stream (yet, or between a deletion and its re-creation)
            return {}
        out: dict[int, tuple[int, int]] = {}
        for p in range(parts):
            try:
                last = (await js.get_last_msg(EVENTS, events_subject(p))).seq
            except NotFoundError:
                continue
            try:
                head = orjson.loads((await obs.get_info(f"p{p}")).description or "{}")
            except NotFoundError:
                head = {}
            seq = int(head.get("seq", 0)) if of_stream(head, incarnation) else 0
            out[p] = (seq, last)
        return out
    finally:
        await nc.close()


async def alert_updates(cfg: BusConfig) -> list[dict[str, Any]]:
    """Every alert update the alerts stream holds, in stream order (a message holds the updates of
    one event message, one a line)."""
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await connect(cfg)
    try:
        js = nc.jetstream()
        total = (await js.stream_info(ALERTS)).state.messages
        if not total:
            return []
        sub = await js.pull_subscribe("cnsec.alerts.*", stream=ALERTS, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
        out: list[dict[str, Any]] = []
        read = 0
        while read < total:
            msgs = await sub.fetch(1024, timeout=10)
            read += len(msgs)
            out += [u for m in msgs for u in updates_of(m.data)]
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def updates_of(payload: bytes) -> list[dict[str, Any]]:
    """The alert updates of one alerts-stream message (JSON, one a line; raises ``ValueError`` on
    anything else)."""
    out = []
    for line in payload.split(b"\n"):
        u = orjson.loads(line)
        if not isinstance(u, dict) or not isinstance(u.get("id"), str) or u.get("count").__class__ is not int:
            raise ValueError("not an alert update")
        out.append(u)
    return out


def fold_updates(updates: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Alert updates folded by id: the highest count wins, and an update without ``evidence`` (it did
    not change since the alert's last update that had it) takes the evidence of the highest-count
    update that has it. In any order of the updates: the alerts a one-process run prints. An alert
    whose updates with evidence are all missing (a reader that started past them) has none here."""
    out: dict[str, dict[str, Any]] = {}
    evidence: dict[str, tuple[int, Any]] = {}
    for u in updates:
        uid, count = u["id"], u["count"]
        if "evidence" in u:
            have = evidence.get(uid)
            if have is None or count >= have[0]:
                evidence[uid] = (count, u["evidence"])
        cur = out.get(uid)
        if cur is None or count >= cur["count"]:
            out[uid] = u
    for uid, u in out.items():
        if "evidence" not in u and uid in evidence:
            out[uid] = with_evidence(u, evidence[uid][1])
    return out


def with_evidence(update: dict[str, Any], evidence: Any) -> dict[str, Any]:
    """``update`` with ``evidence`` in its place (before ``evidence_omitted``, as an alert prints)."""
    doc = {k: v for k, v in update.items() if k != "evidence_omitted"}
    doc["evidence"] = evidence
    if "evidence_omitted" in update:
        doc["evidence_omitted"] = update["evidence_omitted"]
    return doc
