"""The bus's three faults (issue 17), each against its own nats-server and real worker processes:
a worker SIGKILLed mid-stream, the server restarted mid-stream, a poison event."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.serve.bus.conftest import (
    NatsServer,
    canon,
    cnsec,
    corpus_events,
    folded,
    one_process,
    read_stream,
    wait_for_holders,
    wait_until_worked,
    write_lines,
)

pytestmark = pytest.mark.corpus


def _worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    return cnsec("detect", "--bus", url, "--worker", *extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _publish(url: str, *files: Path) -> subprocess.Popen[bytes]:
    return cnsec("detect", "--bus", url, "--publish", *map(str, files), "--partitions", "8",
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _publish_with(url: str, path: Path, chunks: int, between: Callable[[int], None]) -> int:
    """Publish the events of ``path`` in ``chunks`` parts from this process, calling ``between(i)``
    after part ``i`` is handed to the publisher (its messages still in flight); returns re-sends."""
    from cnsec.detect.bus_adapter import EventReader
    from cnsec.serve import BusConfig, publish_records

    parts: list[tuple[Any, ...]] = []
    EventReader().read(str(path), lambda *run: parts.append(run), every=1000)
    step = -(-len(parts) // chunks)

    def produce(sink: Callable[..., None]) -> None:
        for i in range(0, len(parts), step):
            for part in parts[i:i + step]:
                sink(*part)
            if i + step < len(parts):
                between(i // step)

    stats = asyncio.run(publish_records(BusConfig(url=url, partitions=8), produce))
    assert stats.events == sum(len(run[4]) for run in parts)
    return stats.retries


def _wait_for_checkpoints(url: str, timeout: float = 90.0) -> None:
    """Until every partition holding events has a checkpoint past its first message (a fixed sleep was
    too short when the workers loaded their rules slowly on a busy machine: the kill then came before
    any checkpoint and the takeover started from the beginning)."""
    from cnsec.serve.bus.config import BusConfig
    from cnsec.serve.bus.status import lag

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = asyncio.run(lag(BusConfig(url=url)))
        if got and all(seq >= 2 for seq, _last in got.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint past the first message in {timeout:g} s: {got}")


def test_a_worker_killed_mid_stream_loses_and_doubles_no_alert(nats_server: NatsServer, tmp_path: Path) -> None:
    first = write_lines(tmp_path / "first.jsonl", corpus_events(20_000, seed=1))
    second = write_lines(tmp_path / "second.jsonl", corpus_events(20_000, seed=2))
    url = nats_server.url
    assert _publish(url, first).wait(120) == 0
    a, b = _worker(url), _worker(url)
    try:
        wait_for_holders(url, 2)
        _wait_for_checkpoints(url)  # both at work on the first half, checkpoints written

        def kill(i: int) -> None:
            if i == 0:
                a.send_signal(signal.SIGKILL)
                a.wait(10)
        _publish_with(url, second, 3, kill)
        wait_until_worked(url, timeout=180)
    finally:
        _stop(a, b)
    log = b.stderr.read().decode() if b.stderr else ""
    # the survivor took partitions over from their checkpoints, mid-stream
    assert re.search(r"taken \(from sequence ([2-9]|\d\d+)", log), log
    got, doubled = folded(url)
    expected = one_process(str(first), str(second))
    assert len(expected) > 40
    assert doubled == 0
    assert canon(got) == canon(expected)


def test_a_nats_server_restarted_mid_stream_loses_nothing(nats_server: NatsServer, tmp_path: Path) -> None:
    events = write_lines(tmp_path / "events.jsonl", corpus_events(40_000, seed=3))
    url = nats_server.url
    w = _worker(url)
    try:
        def restart(i: int) -> None:
            # killed (no graceful shutdown) with batches still queued behind the reader, the worker
            # mid-stream; the rest of the events are read and published after it is back
            if i == 1:
                nats_server.restart(pause=1.0, sig=signal.SIGKILL)
        _publish_with(url, events, 4, restart)
        wait_until_worked(url, timeout=180)
    finally:
        _stop(w)
    got, doubled = folded(url)
    assert doubled == 0
    assert canon(got) == canon(one_process(str(events)))


RAISING_RULE = '''
from cnsec.detect.rules.pyrules import PythonRule


def _match(event):
    if event.get("poison"):
        return 1 / 0  # a rule with a bug meets the event it cannot take
    return False


RULE = PythonRule(id="TEST-POISON-001", title="a rule that raises on one event", severity="low",
                  source="k8s-audit", match=_match)
'''


def test_a_poison_event_is_parked_with_its_reason_and_the_partition_goes_on(nats_server: NatsServer,
                                                                             tmp_path: Path) -> None:
    import orjson

    from cnsec.detect.bus_adapter import Record
    from cnsec.serve import BusConfig, publish_records

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "poison.py").write_text(RAISING_RULE)
    events = corpus_events(3_000, seed=4)
    k8s = next(orjson.loads(e) for e in events if b"auditID" in e)
    poison = orjson.dumps({**k8s, "poison": True})
    unparseable = b'{"kind": "Event", "verb": "create", "user": {"username": "mallory"'
    # one key for all: poison, unparseable and the good events share a partition
    records = [Record("k8s-audit", "stream", i + 1, "user=alice", raw) for i, raw in enumerate(
        [*events[:1000], poison, *events[1000:2000], unparseable, *events[2000:]])]
    url = nats_server.url

    def produce(sink):  # type: ignore[no-untyped-def]
        sink("k8s-audit", "stream", [r.line for r in records], [r.key for r in records],
             [r.raw + b"\n" for r in records])

    asyncio.run(publish_records(BusConfig(url=url, partitions=4), produce))
    w = _worker(url, "--rules", str(rules))
    try:
        wait_until_worked(url, timeout=120)
    finally:
        _stop(w)
    dead = read_stream(url, "CNSEC_DEAD")
    assert sorted(d["origin"] for d in dead) == ["stream:1001", "stream:2002"]
    by_origin = {d["origin"]: d for d in dead}
    # the engine names a rule that raises (a problem of that event; the rule counts as not matching), so
    # the event is parked at its first delivery; feeding that raises anyway is retried 3 times first
    reason = by_origin["stream:1001"]["reason"]
    assert "ZeroDivisionError" in reason and ("TEST-POISON-001" in reason or reason.startswith("feeding raised 3"))
    assert orjson.loads(by_origin["stream:1001"]["event"])["poison"] is True
    assert by_origin["stream:2002"]["reason"].startswith("malformed JSON")
    # the partition went on: every other event made its alerts, as a one-process run over them does (the
    # poison event's other rules still match it, in both: only the rule that raised counts it as no match)
    good = tmp_path / "stream"
    lines = [b"" if r.raw == unparseable else r.raw for r in records]
    good.write_bytes(b"".join(x + b"\n" for x in lines))
    got, doubled = folded(url)
    expected = one_process("stream", "--rules", str(rules), "--source", "k8s-audit", cwd=tmp_path)
    assert doubled == 0 and len(expected) > 5
    assert canon(got) == canon(expected)


def test_a_line_the_publisher_keys_and_only_the_worker_cannot_read_is_parked_with_its_origin(
        nats_server: NatsServer, tmp_path: Path) -> None:
    # the publisher reads a line's key without building the event (msgspec, which checks the whole line
    # but skips a number's value): a number beyond a double's range after the key is published, and the
    # worker, which parses the event, parks it with its file:line; a line cut short is the publisher's to say
    events = [e for e in corpus_events(600, seed=5) if b'"auditID"' in e][:200]
    out_of_range = events[0][:-1] + b',"x":1e999}'
    cut_short = events[1][:events[1].index(b'"user":')] + b'"user":{"username":"mallory"}'
    path = write_lines(tmp_path / "audit.jsonl", [*events[:50], out_of_range, *events[50:100], cut_short,
                                                  *events[100:]])
    url = nats_server.url
    pub = _publish(url, path)
    _, err = pub.communicate(timeout=120)
    assert pub.returncode == 0, err
    assert f"{path}:102: malformed JSON".encode() in err
    assert b"published 201 events" in err
    w = _worker(url)
    try:
        wait_until_worked(url, timeout=120)
    finally:
        _stop(w)
    dead = read_stream(url, "CNSEC_DEAD")
    assert [d["origin"] for d in dead] == [f"{path}:51"]
    assert dead[0]["reason"].startswith("malformed JSON") and "infinity" in dead[0]["reason"]
    assert dead[0]["event"].encode() == out_of_range and dead[0]["source"] == "k8s-audit"


EVERY_CONFIGMAP_WRITE = '''
from cnsec.detect.rules.pyrules import PythonRule

RULE = PythonRule(id="TEST-BIG-001", title="a ConfigMap written", severity="low", source="k8s-audit",
                  match=lambda event: event.get("verb") == "create")
'''


def test_an_alert_whose_evidence_outgrows_the_largest_message_is_sent_cut_and_the_partition_goes_on(
        nats_server: NatsServer, tmp_path: Path) -> None:
    """Three 600 KB audit events fit a message each, but an alert keeps them all as evidence: its
    update would be refused by the server for ever (the partition stalled behind it). It goes cut to
    fit, said in the update, and the partition is worked to its end."""
    import orjson

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "big.py").write_text(EVERY_CONFIGMAP_WRITE)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(orjson.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": f"big-{i}", "verb": "create",
        "user": {"username": "mallory"}, "objectRef": {"resource": "configmaps"},
        "requestObject": {"data": {"blob": "x" * 600_000}},
        "stageTimestamp": f"2026-01-01T00:00:0{i}.000000Z"}) + b"\n" for i in range(1, 4)))
    url = nats_server.url
    pub = _publish(url, path)
    assert pub.wait(120) == 0
    w = _worker(url, "--rules", str(rules), "--no-default-rules")
    try:
        wait_until_worked(url, timeout=60)
    finally:
        _stop(w)
    got, doubled = folded(url)
    [alert] = [a for a in got if a["rule_id"] == "TEST-BIG-001"]
    assert alert["count"] == 3 and alert["evidence_cut"] is True and doubled == 0
    assert [e["origin"] for e in alert["evidence"]] == [f"{path}:1"]
    assert alert["evidence_omitted"] == 2


@pytest.mark.parametrize("checkpoints", ["named", "written before incarnations"])
def test_an_events_stream_deleted_and_made_again_is_worked_from_its_start_and_loses_no_alert(
        checkpoints: str, nats_server: NatsServer, tmp_path: Path) -> None:
    """Sequences start at 1 again in a stream made again: a worker must not take them for events its
    checkpoint holds, nor its alert messages (named by sequence) for the old stream's, which the
    de-duplication window would drop. A checkpoint that does not name its stream (an older
    worker's) is judged by its time against the stream's creation."""
    import nats
    import orjson
    from nats.js.api import ObjectMeta

    from cnsec.serve.bus.config import CHECKPOINTS, EVENTS

    async def delete_events() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            if checkpoints != "named":  # as an older worker wrote them: no "events"
                obs = await js.object_store(CHECKPOINTS)
                for info in await obs.list():
                    head, _, blob = (await obs.get(info.name)).data.partition(b"\n")
                    meta = orjson.loads(head)
                    del meta["events"]
                    head = orjson.dumps(meta)
                    await obs.put(info.name, head + b"\n" + blob,
                                  meta=ObjectMeta(name=info.name, description=head.decode()))
            await js.delete_stream(EVENTS)
        finally:
            await nc.close()

    first = write_lines(tmp_path / "first.jsonl", corpus_events(6_000, seed=3))
    second = write_lines(tmp_path / "second.jsonl", corpus_events(6_000, seed=4))
    url = nats_server.url
    assert _publish(url, first).wait(120) == 0
    w = _worker(url)
    try:
        wait_until_worked(url)
    finally:
        _stop(w)  # checkpoints every partition as it hands it back
    asyncio.run(delete_events())
    assert _publish(url, second).wait(120) == 0  # the bus makes the stream again
    w = _worker(url)
    try:
        wait_until_worked(url)
    finally:
        _stop(w)
    got, doubled = folded(url)
    expected = one_process(str(first), str(second))
    assert len(expected) > 20
    assert doubled == 0
    assert canon(got) == canon(expected)
    log = w.stderr.read().decode() if w.stderr else ""
    assert "the events stream was made again since sequence" in log, log
