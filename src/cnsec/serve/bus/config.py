"""The bus's names and settings, and the JetStream objects behind them (created on first use)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from cnsec.errors import CnsecError

EVENTS = "CNSEC_EVENTS"
ALERTS = "CNSEC_ALERTS"
DEAD = "CNSEC_DEAD"
SETTINGS = "cnsec_bus"
LEASES = "cnsec_leases"
CHECKPOINTS = "cnsec_checkpoints"


def events_subject(partition: int) -> str:
    return f"cnsec.events.{partition}"


def alerts_subject(partition: int) -> str:
    return f"cnsec.alerts.{partition}"


def dead_subject(partition: int) -> str:
    return f"cnsec.dead.{partition}"


class BusError(CnsecError):
    """The bus cannot be reached or used (exit 2, one line)."""


@dataclass
class BusConfig:
    url: str = "nats://127.0.0.1:4222"
    #: partitions of the event stream, fixed when the bus is first created (the bus's settings hold
    #: it, every process reads it from there); more than workers, so they can share them out
    partitions: int = 16
    #: a lease not renewed for this long expires: a dead worker's partitions move after at most this
    #: (renewed every fifth of it: a worker busy feeding still answers in time)
    lease_ttl: float = 15.0
    #: seconds a starting worker waits, announced, before it takes partitions (see Worker.run)
    join_delay: float = 3.0
    #: a partition's state is checkpointed after this many seconds or messages, whichever comes first
    #: (a snapshot holds every alert of the partition: checkpoints cost; a takeover replays the rest)
    checkpoint_seconds: float = 10.0
    checkpoint_messages: int = 400
    #: deliveries of one event to the detector before it is parked in the dead-letter subject
    max_deliver: int = 3
    #: how long the streams keep events (seconds; 0: for ever); replays read what is kept
    retention: float = 7 * 24 * 3600.0
    #: JetStream's de-duplication window for alert updates and event batches (seconds)
    dedup_window: float = 600.0
    #: events and event bytes (before compression) per batch: a batch goes in one message, compressed
    #: (about 5x on audit logs), cut into pieces that fit if it does not. Larger batches, fewer messages:
    #: a worker pays for each (a fetch, an alerts message, an acknowledgement); 400 events / 512 KiB
    #: took it 12% more CPU over 1M events (docs/scale.md)
    batch_events: int = 2000
    batch_bytes: int = 2 * 1024 * 1024
    #: messages sent and not yet acknowledged by the stream: the publisher waits beyond it
    max_inflight: int = 64
    #: a partly filled batch is sent after this long (seconds) by a publisher fed over time that calls
    #: ``Publisher.tick`` (the bench's latency leg); ``--publish`` and the ingest endpoints send what
    #: is left at the end of each file or request, at once
    linger: float = 0.02
    fetch_batch: int = 32


def shown(url: str) -> str:
    """The bus URL as messages and logs name it: without a user and password (``nats://u:p@host``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


async def _quiet(exc: Exception) -> None:  # reconnection is the normal answer; never a traceback
    return None


#: the socket reads of a connection: nats-py reads 32 KiB at a time and its stream stops reading past
#: twice that, so a worker taking event batches of ~400 KiB went round the event loop (an epoll call,
#: a pause and a resume of the socket) every 32 KiB (the loop's share of a worker's py-spy samples fell
#: from about 18% to 6% with 1 MiB; docs/scale.md)
READ_BUFFER = 1 << 20


def _large_reads() -> None:
    """nats-py has no option for it: its module constant is read when a connection opens and reads."""
    import nats.aio.client

    if getattr(nats.aio.client, "DEFAULT_BUFFER_SIZE", READ_BUFFER) < READ_BUFFER:
        nats.aio.client.DEFAULT_BUFFER_SIZE = READ_BUFFER


async def connect(cfg: BusConfig, **callbacks: Any) -> Any:
    """A NATS connection that reconnects for ever (a restarted server is waited for)."""
    import nats

    _large_reads()

    try:  # the first connection is bounded (nats retries it for ever too, with these settings)
        return await asyncio.wait_for(nats.connect(cfg.url, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
                                                   connect_timeout=5, error_cb=_quiet, **callbacks), 10.0)
    except Exception as exc:  # OSError, time-outs, nats' own NoServersError
        raise BusError(f"cannot connect to the bus at {shown(cfg.url)}: {type(exc).__name__}: {exc}") from None


async def probe(cfg: BusConfig, timeout: float = 5.0) -> int:
    """Reach the bus once, without the retry loop of :func:`connect`, and make sure its streams exist;
    the partition count. For a start that should fail at once, in one line (``cnsec serve --bus``):
    a server that waited for an absent bus would look up and take nothing."""
    import nats

    where = shown(cfg.url)
    try:  # max_reconnect_attempts=1: nats tries the server twice, then gives up (0 means for ever)
        nc = await asyncio.wait_for(nats.connect(cfg.url, allow_reconnect=False, max_reconnect_attempts=1,
                                                 reconnect_time_wait=0.1, connect_timeout=timeout,
                                                 error_cb=_quiet), timeout)
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise BusError(f"cannot reach the bus at {where}: {why}") from None
    try:
        return await asyncio.wait_for(ensure_bus(nc.jetstream(), cfg), timeout)
    except Exception as exc:  # no JetStream on that server (nats-server without -js), no permission
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise BusError(f"the bus at {where} does not serve JetStream (start nats-server with -js): {why}") from None
    finally:
        await nc.close()


async def ensure_bus(js: Any, cfg: BusConfig) -> int:
    """Create the streams and buckets if missing; returns the bus's partition count (the first
    process to create the bus sets it; later ones read it, whatever they were given)."""
    from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType, StreamConfig
    from nats.js.errors import BadRequestError, KeyWrongLastSequenceError

    age = cfg.retention or None
    for name, subjects, max_age in ((EVENTS, ["cnsec.events.*"], age), (ALERTS, ["cnsec.alerts.*"], age),
                                    (DEAD, ["cnsec.dead.*"], None)):
        conf = StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE, max_age=max_age,
                            duplicate_window=cfg.dedup_window)
        with contextlib.suppress(BadRequestError):  # exists with other limits: the running bus's stand
            await js.add_stream(conf)
    settings = await _bucket(js, KeyValueConfig(bucket=SETTINGS, storage=StorageType.FILE))
    await _bucket(js, KeyValueConfig(bucket=LEASES, ttl=cfg.lease_ttl, storage=StorageType.FILE))
    with contextlib.suppress(BadRequestError):
        await js.create_object_store(CHECKPOINTS, ObjectStoreConfig(storage=StorageType.FILE))
    with contextlib.suppress(KeyWrongLastSequenceError):
        await settings.create("partitions", str(cfg.partitions).encode())
    entry = await settings.get("partitions")
    return int(entry.value or b"0")


async def events_incarnation(js: Any) -> str:
    """Which events stream this is: its creation time (microseconds, hex), which JetStream keeps with
    the stream. Stream sequences start again at 1 in a stream deleted and made again, so a sequence
    names an event message only together with this: a checkpoint of another incarnation does not
    say how far the stream is worked, and alert messages named by sequence alone would be taken for
    the old stream's by the de-duplication window."""
    created = (await js.stream_info(EVENTS)).created
    return format(int(created.timestamp() * 1_000_000), "x") if created is not None else "0"


def of_stream(head: dict[str, Any], incarnation: str) -> bool:
    """Whether a checkpoint (its header) reflects the events stream of this incarnation. One written
    before incarnations were recorded does unless it is older than the stream (the writer's clock
    against the server's)."""
    if "events" in head:
        return str(head["events"]) == incarnation
    try:
        created = int(incarnation, 16) / 1_000_000
    except ValueError:
        return True
    return float(head.get("time") or 0.0) >= created


async def _bucket(js: Any, conf: Any) -> Any:
    """A KV bucket, created if missing; one made by another process with other settings is used."""
    from nats.js.errors import BadRequestError

    try:
        return await js.create_key_value(conf)
    except BadRequestError:
        return await js.key_value(conf.bucket)
