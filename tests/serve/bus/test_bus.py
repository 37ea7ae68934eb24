"""The bus's parts against a real nats-server: the message format, partitioning, leases, publishing and
replaying real corpus files, and the command line's errors."""

from __future__ import annotations

import asyncio
import random
import subprocess
from pathlib import Path

import orjson
import pytest

from cnsec.detect.bus_adapter import Record
from cnsec.serve.bus.codec import BadMessage, as_line, decode, encode_batch, unpack
from cnsec.serve.bus.publisher import partition_of
from tests.serve.bus.conftest import LOGS, NatsServer, canon, cnsec, one_process, read_stream_raw


def encode(records: list[Record]) -> bytes:
    """``records`` as one plain message (of any inputs, in order), through the codec's columns."""
    runs: list[tuple[tuple[str, str], int]] = []
    for i, r in enumerate(records):
        if not runs or runs[-1][0] != (r.source, r.name):
            runs.append(((r.source, r.name), i))
    return encode_batch(runs, [r.line for r in records], [as_line(r.raw) for r in records])

def test_a_batch_keeps_each_events_input_line_and_bytes_and_a_newline_cannot_cut_the_framing() -> None:
    records = [Record("k8s-audit", "a.log", 3, "user=x", b'{"verb":"get"}'),
               Record("k8s-audit", "a.log", 9, "user=y", b'{"verb":"list"}'),
               Record("cloudtrail", "b log\twith tab", 1, "ip=1", b'{"eventName":"X",\n"n":1}'),
               Record("k8s-audit", "a.log", 10, "user=x", b"not json at all")]
    groups = decode(encode(records))
    assert groups == [("k8s-audit", "a.log", [(3, b'{"verb":"get"}'), (9, b'{"verb":"list"}')]),
                      ("cloudtrail", "b log\twith tab", [(1, b'{"eventName":"X", "n":1}')]),
                      ("k8s-audit", "a.log", [(10, b"not json at all")])]


def test_a_version_1_batch_that_an_older_publisher_left_in_the_stream_still_decodes() -> None:
    payload = b'{"v": 1, "inputs": [["k8s-audit", "a.log"], ["cloudtrail", "b.log"]]}\n0 3 {"a":1}\n1 7 {"b": 2}'
    assert decode(payload) == [("k8s-audit", "a.log", [(3, b'{"a":1}')]), ("cloudtrail", "b.log", [(7, b'{"b": 2}')])]


@pytest.mark.parametrize("payload", [
    b"", b"garbage", b'{"v": 2, "inputs": []}', b'{"v": 1, "inputs": []}\n0 1 {}', b'{"v": 3, "inputs": []}',
     b'{"v": 2, "inputs": [["json", "a"]], "runs": [[0, 2]], "lines": [1, 2]}\n{}',
     b'{"v": 2, "inputs": [["json", "a"]], "runs": [[0, 1]], "lines": [1, 2]}\n{}\n{}'])
def test_a_message_that_is_no_event_batch_is_a_named_error(payload: bytes) -> None:
    with pytest.raises(BadMessage):
        decode(payload)


def test_a_packed_batch_decodes_to_the_events_of_the_plain_one_and_an_uncompressed_one_is_still_read() -> None:
    from cnsec.serve.bus.codec import PACKED, pack

    records = [Record("k8s-audit", "a.log", i, f"user={i % 3}", orjson.dumps({"verb": "get", "n": i, "pad": "x" * 300}))
               for i in range(1, 400)]
    plain = encode(records)
    packed = pack(plain)
    assert packed.startswith(PACKED) and len(packed) * 5 < len(plain)
    assert decode(packed) == decode(plain) and sum(len(g[2]) for g in decode(packed)) == 399


@pytest.mark.parametrize("message", [
    b"LZ4\n", b"LZ4\n\x01", b"LZ4\n\xff\xff\xff\x7fabc",  # too short; a size it cannot have (2 GiB)
    b"LZ4\n\x10\x00\x00\x00garbage that is no lz4 block"])
def test_a_compressed_message_that_is_damaged_or_claims_too_much_is_a_named_error_not_an_allocation(
        message: bytes) -> None:
    with pytest.raises(BadMessage, match="compressed event batch"):
        decode(message)


def test_a_key_goes_to_the_same_partition_in_every_process() -> None:
    # crc32, not hash(): the publisher and the ingest endpoint must agree without sharing a process
    assert partition_of("user=alice", 16) == partition_of("user=alice", 16) == 14
    assert {partition_of(f"ip=10.0.0.{i}", 8) for i in range(200)} == set(range(8))


def _events(n: int, users: int, seed: int = 0) -> list[tuple[int, str, bytes]]:
    """(line, key, event line) of ``n`` events of ``users`` users, sizes varied (byte limits hit)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        user = f"u{rnd.randrange(users)}"
        raw = orjson.dumps({"i": i, "user": {"username": user}, "pad": "x" * rnd.randrange(400)}) + b"\n"
        out.append((i + 1, f"user={user}", raw))
    return out


def _unbatch(ready: list[tuple[int, bytes, int]]) -> dict[int, list[tuple[str, int, bytes]]]:
    """Each partition's events as the worker decodes them: (input name, line, event), in order."""
    got: dict[int, list[tuple[str, int, bytes]]] = {}
    for p, payload, n in ready:
        events = [(name, line, raw) for _source, name, lines in decode(payload) for line, raw in lines]
        assert len(events) == n
        got.setdefault(p, []).extend(events)
    return got


def test_the_batcher_keeps_each_partitions_events_in_order_within_its_limits_across_inputs() -> None:
    from cnsec.serve.bus.publisher import Batcher

    batcher = Batcher(5, max_events=40, max_bytes=8_000)
    inputs = {name: _events(700, 30, seed=k) for k, name in enumerate(["a.log", "b.log", "c log\twith tab"])}
    ready = []
    expected: dict[int, list[tuple[str, int, bytes]]] = {}
    for start in range(0, 700, 64):  # the inputs' runs interleaved, as files and requests come one after another
        for name, events in inputs.items():
            part = events[start:start + 64]
            ready += batcher.add("k8s-audit", name, [e[0] for e in part], [e[1] for e in part], [e[2] for e in part])
            for line, key, raw in part:
                expected.setdefault(partition_of(key, 5), []).append((name, line, raw[:-1]))
    assert ready and all(n <= 40 and len(payload) < 8_000 + 1_000 for _p, payload, n in ready)
    ready += batcher.rest()
    assert batcher.rest() == []
    assert _unbatch(ready) == expected


def test_no_message_outgrows_the_largest_and_an_event_too_large_for_one_is_named_not_sent() -> None:
    """A message the server refuses would be sent again until the publisher gave up, and the events
    batched with it lost too. A batch may hold more event bytes than a message (it goes compressed);
    one whose events do not compress enough is cut into pieces that fit, the two inputs of a
    batch keeping their names and lines; an event larger than a message alone is named by input and
    line instead."""
    from cnsec.serve.bus.publisher import MESSAGE_ROOM, Batcher

    largest = MESSAGE_ROOM + 10_000
    batcher = Batcher(1, max_events=100, max_bytes=40_000, max_message=largest)
    rnd = random.Random(3)
    sizes = [3_000, 4_500, 9_000, 12_000, 200, 9_970, 10_001, 50, 2_000, 2_000, 2_000]
    # random hex: LZ4 finds nothing to repeat in it
    raws = [orjson.dumps({"n": i, "pad": rnd.randbytes(n // 2).hex()}) + b"\n" for i, n in enumerate(sizes)]
    half = 5
    ready = batcher.add("json", "big.log", list(range(1, half + 1)), ["k"] * half, raws[:half])
    ready += batcher.add("json", "other.log", list(range(1, len(raws) - half + 1)), ["k"] * (len(raws) - half),
                         raws[half:])
    ready += batcher.rest()
    sent = [(name, line, raw) for _p, payload, _n in ready for _s, name, lines in decode(payload)
            for line, raw in lines]
    names = [("big.log", i + 1) if i < half else ("other.log", i - half + 1) for i in range(len(raws))]
    assert sent == [(*names[i], r[:-1]) for i, r in enumerate(raws) if len(r) <= 10_000]
    assert all(len(payload) <= 10_000 or (n == 1 and len(payload) <= largest) for _p, payload, n in ready)
    assert len(ready) > 3  # cut: 40,000 bytes of events went in more than one message
    assert [(p.file, p.line) for p in batcher.too_large] == [("big.log", 4), ("other.log", 2)]
    assert "12,0" in batcher.too_large[0].message and "not published" in batcher.too_large[0].message


def test_a_batch_larger_than_a_message_that_compresses_to_fit_goes_as_one_message() -> None:
    """A worker's cost per message (a fetch, its alert updates, an acknowledgement) is paid per batch:
    batches are bounded before compression, not by the message they compress into."""
    from cnsec.serve.bus.publisher import MESSAGE_ROOM, Batcher

    batcher = Batcher(1, max_events=100, max_bytes=100_000, max_message=MESSAGE_ROOM + 10_000)
    raws = [orjson.dumps({"n": i, "verb": "get", "pad": "pods " * 200}) + b"\n" for i in range(60)]
    ready = batcher.add("json", "a.log", list(range(1, 61)), ["k"] * 60, raws) + batcher.rest()
    assert sum(map(len, raws)) > 50_000
    assert [(n, len(payload) <= 10_000) for _p, payload, n in ready] == [(60, True)]


def test_records_from_a_request_and_columns_from_a_file_make_the_same_messages() -> None:
    from cnsec.serve.bus.publisher import Batcher

    events = _events(500, 7)
    records = [Record("k8s-audit", "x.log", line, key, raw[:-1]) for line, key, raw in events]
    by_records = Batcher(4, 64, 16_000).add_records(records)
    by_columns = Batcher(4, 64, 16_000).add("k8s-audit", "x.log", *map(list, zip(*events, strict=True)))
    assert by_records == by_columns and len(by_records) > 4
    p, payload, n = by_records[0]
    assert unpack(payload) == encode([r for r in records if partition_of(r.key, 4) == p][:n])


def test_a_partly_filled_batch_waits_its_linger_time_and_then_goes() -> None:
    import time

    from cnsec.serve.bus.publisher import Batcher

    batcher = Batcher(3, 100, 1 << 20)
    events = _events(10, 3)
    assert batcher.add("json", "t", *map(list, zip(*events, strict=True))) == []
    assert batcher.due(60.0) == []
    time.sleep(0.05)
    due = batcher.due(0.04)
    assert sum(n for _p, _payload, n in due) == 10 and batcher.rest() == []


def test_an_event_handed_without_its_newline_is_refused_not_run_into_the_next() -> None:
    from cnsec.serve.bus.codec import encode_batch

    with pytest.raises(ValueError, match="newline"):
        encode_batch([(("json", "a"), 0)], [1, 2], [b'{"a":1}\n', b'{"b":2}'])


def test_publishing_numbers_each_message_and_keeps_each_partitions_order(nats_server: NatsServer) -> None:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    from cnsec.serve import BusConfig, publish_records
    from cnsec.serve.bus.config import EVENTS

    inputs = {name: _events(3000, 40, seed=k) for k, name in enumerate(["a.log", "b.log"])}

    def produce(sink):  # type: ignore[no-untyped-def]
        for start in range(0, 3000, 500):
            for name, events in inputs.items():
                part = events[start:start + 500]
                sink("k8s-audit", name, [e[0] for e in part], [e[1] for e in part], [e[2] for e in part])

    cfg = BusConfig(url=nats_server.url, partitions=4, batch_events=50)
    stats = asyncio.run(publish_records(cfg, produce))
    assert stats.events == 6000 and stats.messages >= 6000 // 50

    async def read() -> list[tuple[str, bytes, str]]:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            sub = await js.pull_subscribe("cnsec.events.*", stream=EVENTS,
                                          config=ConsumerConfig(ack_policy=AckPolicy.NONE))
            out: list[tuple[str, bytes, str]] = []
            while len(out) < stats.messages:
                out += [(m.subject, m.data, (m.headers or {})["Nats-Msg-Id"]) for m in await sub.fetch(64, timeout=5)]
            return out
        finally:
            await nc.close()

    msgs = asyncio.run(read())
    ids = [msg_id for _subject, _data, msg_id in msgs]
    run = ids[0].rsplit(".", 1)[0]
    assert sorted(ids, key=lambda i: int(i.rsplit(".", 1)[1])) == [f"{run}.{n}" for n in range(1, stats.messages + 1)]
    # in the stream's order, as a partition's worker reads them
    got = _unbatch([(int(subject.rsplit(".", 1)[1]), data, sum(len(g[2]) for g in decode(data)))
                    for subject, data, _ in msgs])
    expected: dict[int, list[tuple[str, int, bytes]]] = {}
    for start in range(0, 3000, 500):
        for name, events in inputs.items():
            for line, key, raw in events[start:start + 500]:
                expected.setdefault(partition_of(key, 4), []).append((name, line, raw[:-1]))
    assert got == expected


def test_an_event_larger_than_the_bus_takes_is_named_at_its_line_and_its_neighbours_are_published(
        nats_server: NatsServer, tmp_path: Path) -> None:
    """nats-server's largest message is 1 MiB by default: an audit event with a 1.5 MB request body
    cannot go on the bus. It is named with its file and line at once (no retrying until the
    publisher gives up) and the events of its partition around it are published."""
    import time

    def event(audit_id: str, body: dict[str, object]) -> bytes:
        return orjson.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
                             "auditID": audit_id, "stage": "ResponseComplete", "verb": "create",
                             "requestURI": "/api/v1/namespaces/default/configmaps", "user": {"username": "mallory"},
                             "sourceIPs": ["10.0.0.9"], "objectRef": {"resource": "configmaps"},
                             "requestObject": body, "stageTimestamp": "2026-01-01T00:00:00.000000Z"})

    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"\n".join([event("small-1", {}), event("big", {"data": {"blob": "x" * 1_500_000}}),
                                   event("small-2", {})]) + b"\n")
    started = time.monotonic()
    proc = cnsec("detect", "--bus", nats_server.url, "--publish", str(path), stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=120)
    said = err.decode()
    assert proc.returncode == 0 and time.monotonic() - started < 60, said
    assert f"{path}:2: an event of 1,500," in said and "not published" in said
    assert "published 2 events" in said and "Traceback" not in said
    assert "1 too large for the bus (not published" in said  # the summary line counts it too
    stored = [e["auditID"] for msg in read_stream_raw(nats_server.url, "CNSEC_EVENTS")
              for _s, _n, lines in decode(msg) for _line, e in ((n, orjson.loads(r)) for n, r in lines)]
    assert stored == ["small-1", "small-2"]


def test_a_held_partition_is_not_taken_and_an_expired_lease_moves(nats_server: NatsServer) -> None:
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.config import LEASES, connect, ensure_bus
    from cnsec.serve.bus.lease import Leases

    async def run() -> None:
        cfg = BusConfig(url=nats_server.url, lease_ttl=1.5)
        nc = await connect(cfg)
        try:
            js = nc.jetstream()
            await ensure_bus(js, cfg)
            kv = await js.key_value(LEASES)
            a, b = Leases(kv, "a"), Leases(kv, "b")
            assert await a.acquire(3)
            assert not await b.acquire(3)
            assert await a.renew(3)
            await asyncio.sleep(2.5)  # a stops renewing (it died): the lease expires
            assert await b.acquire(3)
            assert not await a.renew(3)  # a comes back: the partition is b's now
            assert 3 not in a.held
        finally:
            await nc.close()
    asyncio.run(run())


@pytest.mark.corpus
def test_published_corpus_files_replayed_give_the_alerts_of_a_one_process_run(nats_server: NatsServer,
                                                                            tmp_path: Path) -> None:
    if not LOGS.exists():
        pytest.skip(f"corpus {LOGS} is absent")
    # Kubernetes audit traces (one file a scenario, times out of order across files), the OTRF breach,
    # CloudTrail {"Records": [...]} files: read, split and keyed exactly as one process reads them
    inputs = [str(LOGS / "falco-k8s-audit-traces"),
              str(LOGS / "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"),
              str(LOGS / "falco-plugin-cloudtrail-traces")]
    pub = cnsec("detect", "--bus", nats_server.url, "--publish", *inputs, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    _, err = pub.communicate(timeout=120)
    assert pub.returncode == 0, err
    assert b"published 157 events" in err
    assert b"_labels_from_falco_k8s_audit_tests.json: not read" in err  # skipped, and said so
    out = tmp_path / "replay.jsonl"
    rep = cnsec("detect", "--bus", nats_server.url, "--replay", "-o", str(out), "--fail-on", "none",
                stderr=subprocess.PIPE)
    _, err = rep.communicate(timeout=120)
    assert rep.returncode == 0, err
    import orjson

    got = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    expected = one_process(*inputs)
    assert len(expected) == 40
    assert canon(got) == canon(expected)
    # nothing was stored after tomorrow
    rep = cnsec("detect", "--bus", nats_server.url, "--replay", "--since", "2999-01-01", "--fail-on", "none",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, err = rep.communicate(timeout=120)
    assert rep.returncode == 0 and stdout == b"" and b"replayed 0 events" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--worker"], "--worker needs --bus URL"),
    (["--bus", "nats://127.0.0.1:1", "--worker", "--publish"], "--bus takes one of"),
    (["--bus", "nats://127.0.0.1:1", "--worker", "--since", "2026-01-01"], "--since goes with --replay"),
    (["--bus", "nats://127.0.0.1:1", "--replay", "--since", "last tuesday"], "--since expects a date"),
    (["--bus", "nats://127.0.0.1:1", "--publish"], "--publish takes files"),
])
def test_bus_options_that_do_not_fit_together_exit_2_with_one_line(args: list[str], message: str) -> None:
    proc = cnsec("detect", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert message in err.decode() and b"Traceback" not in err


def test_a_bus_that_cannot_be_reached_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.serve.bus.conftest import _free_port

    f = tmp_path / "e.jsonl"
    f.write_text('{"verb": "get"}\n')
    proc = cnsec("detect", "--bus", f"nats://127.0.0.1:{_free_port()}", "--publish", str(f),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # it hung: the test fails, the process does not outlive it
            proc.kill()
            proc.wait()
    assert proc.returncode == 2
    assert b"cannot connect to the bus at nats://127.0.0.1:" in err and b"Traceback" not in err


def test_how_far_the_partitions_are_is_nothing_while_there_is_no_events_stream(nats_server: NatsServer) -> None:
    """Between a deletion and the re-creation (or before the first publisher), not an error."""
    import nats

    from cnsec.serve import BusConfig
    from cnsec.serve.bus.config import EVENTS, ensure_bus
    from cnsec.serve.bus.status import lag

    async def run() -> dict[int, tuple[int, int]]:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await ensure_bus(js, BusConfig(url=nats_server.url, partitions=4))
            await js.delete_stream(EVENTS)
        finally:
            await nc.close()
        return await lag(BusConfig(url=nats_server.url))
    assert asyncio.run(run()) == {}


def test_a_checkpoint_is_of_the_stream_it_names_or_if_it_names_none_of_a_stream_not_newer_than_it() -> None:
    """The upgrade path (a checkpoint of an older worker kept on the same stream) as much as the
    stream made again: the first must be taken up where it stands, or a partition counts twice."""
    from cnsec.serve.bus.config import of_stream

    created = 1_767_225_600.0
    incarnation = format(int(created * 1_000_000), "x")
    assert of_stream({"events": incarnation, "time": 0.0}, incarnation)
    assert not of_stream({"events": "abc", "time": created + 10}, incarnation)
    assert of_stream({"seq": 7, "time": created + 10}, incarnation)  # an older worker's, on this stream
    assert not of_stream({"seq": 7, "time": created - 10}, incarnation)  # written before the stream was made
    assert of_stream({"seq": 7, "time": created - 10}, "0")  # a server that does not say when it made it
