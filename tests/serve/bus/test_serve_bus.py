"""``cnsec serve --bus``: ingest publishes to a real nats-server, a real ``cnsec detect --bus --worker``
process detects, and the server stores the alerts it publishes; the bus away is a 503, never a drop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cnsec.serve.bus.status import with_evidence
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from cnsec.serve.startup import prepare
from cnsec.store import schema
from tests.serve.bus.conftest import ROOT, NatsServer, cnsec, one_process, wait_until_worked, write_lines
from tests.serve.conftest import bearer
from tests.serve.ingest.corpus import batches, varied


@pytest.fixture
def serve_ctx(db_url: str, fast_ph: object, nats_server: NatsServer) -> ServeContext:
    """The server's context over a store and the test's nats-server (replaces tests/serve's own)."""
    ctx = ServeContext.open(Settings(db_url=db_url, bus=nats_server.url, bus_timeout=3.0), ph=fast_ph)
    prepare(ctx)
    return ctx


@pytest.fixture
def worker(nats_server: NatsServer) -> Iterator[subprocess.Popen[bytes]]:
    proc = cnsec("detect", "--bus", nats_server.url, "--worker", stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _all_alerts(c: TestClient, token: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = c.get("/v1/alerts", params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                  headers=bearer(token))
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next"]
        if not cursor:
            return out


def _rule_key_count(alerts: list[dict[str, Any]], rule: str = "rule") -> Counter[tuple[str, str, int]]:
    return Counter((a[rule], a["key"], a["count"]) for a in alerts)


@pytest.mark.corpus
def test_audit_batches_posted_to_a_bus_server_come_back_as_the_alerts_of_a_one_process_run(
        app: Any, role_users: dict[str, str], worker: subprocess.Popen[bytes], nats_server: NatsServer,
        tmp_path: Path) -> None:
    events = varied(1200)
    with TestClient(app) as c:
        for b in batches(events, 400):
            r = c.post("/v1/ingest/k8s-audit", json=b, headers=bearer(role_users["ingest"]))
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == r.json()["published"] == 400 and r.json()["messages"] >= 1
        wait_until_worked(nats_server.url, timeout=120)
        want = _rule_key_count(one_process(str(write_lines(tmp_path / "events.jsonl",
                                                           [orjson.dumps(e) for e in events]))), "rule_id")
        assert sum(want.values()) > 10, "the corpus events raise alerts"
        deadline = time.monotonic() + 30
        while True:  # the server's consumer stores what the worker published
            got = _rule_key_count(_all_alerts(c, role_users["viewer"]))
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert got == want
    assert worker.poll() is None


def test_a_post_while_the_bus_is_down_answers_503_with_retry_after_and_readyz_fails_until_it_is_back(
        app: Any, role_users: dict[str, str], nats_server: NatsServer) -> None:
    batch = batches(varied(50), 50)[0] if _corpus() else _synthetic(50)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        nats_server.stop()
        deadline = time.monotonic() + 10
        while c.get("/readyz").status_code != 503:
            assert time.monotonic() < deadline, "readyz still 200 with the bus stopped"
            time.sleep(0.1)
        r = c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"]))
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) > 0
        err = r.json()["error"]
        assert err["code"] == "bus_unavailable" and "bus" in err["message"]
        assert c.get("/readyz").json()["error"]["code"] == "bus_unavailable"
        nats_server.start()
        deadline = time.monotonic() + 20
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "readyz not back with the bus"
            time.sleep(0.2)
        r = c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"]))
        assert r.status_code == 200, r.text
    assert _stream_messages(nats_server.url, "CNSEC_EVENTS") >= 1


def test_an_event_too_large_for_the_bus_is_left_out_and_said_and_its_request_is_stored(
        app: Any, role_users: dict[str, str], nats_server: NatsServer, caplog: pytest.LogCaptureFixture) -> None:
    """A 1.5 MB audit event fits the server's 16 MiB body limit but not the bus's 1 MiB message: the
    rest of the request is stored and answered (not a 503 the webhook would retry for ever), and the
    event is named in the log and left out of ``published``."""
    batch = _synthetic(5)
    batch["items"][2]["requestObject"] = {"data": {"blob": "x" * 1_500_000}}
    with caplog.at_level("WARNING", logger="cnsec.serve.ingest"), TestClient(app) as c:
        r = c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"]))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["published"]) == (5, 4)
    assert r.json()["not_published"] == 1
    assert any("ingest-k8s-audit:3: an event of 1,500," in m and "not published" in m for m in caplog.messages)


def test_a_request_sent_again_is_stored_once_by_the_bus(app: Any, role_users: dict[str, str],
                                                        nats_server: NatsServer) -> None:
    batch = _synthetic(300)
    with TestClient(app) as c:
        first = c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"]))
        again = c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"]))
        other = c.post("/v1/ingest/k8s-audit", json=_synthetic(300, start=1000), headers=bearer(role_users["ingest"]))
    assert first.status_code == again.status_code == other.status_code == 200
    messages = first.json()["messages"]
    assert messages > 1  # partitioned: 300 events of many users spread over the partitions
    # the retry's messages carry the same ids (made of the body): JetStream keeps the first copy
    assert _stream_messages(nats_server.url, "CNSEC_EVENTS") == messages + other.json()["messages"]


def test_an_alert_update_delivered_twice_or_late_is_stored_once_with_the_highest_count_and_people_s_status(
        app: Any, serve_ctx: ServeContext, role_users: dict[str, str], nats_server: NatsServer) -> None:
    def update(count: int) -> dict[str, Any]:
        return {"id": "a" * 32, "rule_id": "K8S-TEST-1", "title": "a test alert", "severity": "high",
                "threat_id": None, "key": "user=alice", "first_seen": "2026-01-01T00:00:00Z",
                "last_seen": f"2026-01-01T00:00:{count:02d}Z", "count": count, "action": None,
                "attack_ids": ["T1078"], "evidence": [{"time": "2026-01-01T00:00:00Z"}],
                "evidence_omitted": count - 1}

    with TestClient(app) as c:
        _publish_alerts(nats_server.url, [(update(2), "x1"), (update(2), "x2")])  # one version, twice
        _wait_acked(nats_server.url, 2)
        r = c.post(f"/v1/alerts/{'a' * 32}/ack", headers=bearer(role_users["analyst"]))
        assert r.status_code == 200, r.text
        _publish_alerts(nats_server.url, [(update(3), "x3")])
        _wait_acked(nats_server.url, 3)
        # an older version delivered late (a replay, a slow partition) and the newest again, each read
        # on its own: the store's guard, not the fold of one read, keeps the highest count
        _publish_alerts(nats_server.url, [(update(1), "x4")])
        _wait_acked(nats_server.url, 4)
        late = c.get(f"/v1/alerts/{'a' * 32}", headers=bearer(role_users["viewer"])).json()
        assert (late["count"], late["last_seen"]) == (3, pytest.approx(1767225603.0, abs=1e-3))
        _publish_alerts(nats_server.url, [(update(3), "x5")])
        _wait_acked(nats_server.url, 5)
        got = c.get(f"/v1/alerts/{'a' * 32}", headers=bearer(role_users["viewer"])).json()
    with serve_ctx.engine.connect() as conn:
        assert conn.execute(select(schema.serve_alerts.c.id)).all() == [("a" * 32,)]
    assert (got["rule"], got["key"], got["count"], got["status"]) == ("K8S-TEST-1", "user=alice", 3, "acknowledged")
    assert got["last_seen"] == pytest.approx(1767225603.0, abs=1e-3) and got["attack_ids"] == ["T1078"]


def test_an_alert_update_without_evidence_keeps_the_evidence_the_store_holds(
        app: Any, role_users: dict[str, str], nats_server: NatsServer) -> None:
    """A worker leaves an alert's evidence (its first hits) out of the updates after it stopped
    changing; the server keeps the stored evidence, and stores an alert it never saw without any."""
    def update(uid: str, count: int, evidence: list[dict[str, Any]] | None) -> dict[str, Any]:
        u = {"id": uid, "rule_id": "K8S-TEST-1", "title": "a test alert", "severity": "high",
             "threat_id": None, "key": "user=alice", "first_seen": "2026-01-01T00:00:00Z",
             "last_seen": f"2026-01-01T00:00:{count:02d}Z", "count": count, "action": None,
             "attack_ids": [], "evidence_omitted": count - 2}
        return u if evidence is None else with_evidence(u, evidence)

    first = [{"time": "2026-01-01T00:00:00Z", "origin": "audit.log:1"},
             {"time": "2026-01-01T00:00:01Z", "origin": "audit.log:2"}]
    with TestClient(app) as c:
        _publish_alerts(nats_server.url, [(update("c" * 32, 2, first), "y1")])
        _wait_acked(nats_server.url, 1)
        # one message of two updates, as a worker sends the updates of one event message
        both = [update("c" * 32, 7, None), update("d" * 32, 4, None)]
        _publish_lines(nats_server.url, [orjson.dumps(u) for u in both], "y2")
        _wait_acked(nats_server.url, 2)
        kept = c.get(f"/v1/alerts/{'c' * 32}", headers=bearer(role_users["viewer"])).json()
        unseen = c.get(f"/v1/alerts/{'d' * 32}", headers=bearer(role_users["viewer"])).json()
    assert (kept["count"], kept["evidence"]) == (7, first)
    assert kept["last_seen"] == pytest.approx(1767225607.0, abs=1e-3)
    assert (unseen["count"], unseen["evidence"]) == (4, [])


def test_serve_with_an_unreachable_bus_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CNSEC_DB": f"sqlite:///{tmp_path / 's.db'}",
           "CNSEC_BUS": f"nats://user:hunter2@127.0.0.1:{port}"}
    proc = subprocess.run([sys.executable, "-m", "cnsec", "serve", "--port", str(_free_port())], env=env,
                          capture_output=True, timeout=60)
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2, err
    assert len(err.splitlines()) == 1 and f"cannot reach the bus at nats://***@127.0.0.1:{port}" in err
    assert "hunter2" not in err and "Traceback" not in err
    bad = subprocess.run([sys.executable, "-m", "cnsec", "serve", "--bus", "http://127.0.0.1:1"], env=env,
                         capture_output=True, timeout=60)
    assert bad.returncode == 2 and b"expected a NATS URL" in bad.stderr


# ------------------------------------------------------------------------------ helpers
def _corpus() -> bool:
    from tests.serve.ingest.corpus import CORPUS

    return CORPUS.is_dir()


def _synthetic(n: int, start: int = 0) -> dict[str, Any]:
    """An audit EventList of ``n`` distinct events by many users (no corpus needed)."""
    return {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [
        {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": f"id-{i}",
         "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/namespaces/default/pods",
         "user": {"username": f"user-{i % 37}"}, "sourceIPs": [f"10.0.0.{i % 200}"],
         "objectRef": {"resource": "pods", "namespace": "default"}, "responseStatus": {"code": 200},
         "requestReceivedTimestamp": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}.000000Z",
         "stageTimestamp": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}.000000Z"}
        for i in range(start, start + n)]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stream_messages(url: str, stream: str) -> int:
    import nats

    async def run() -> int:
        nc = await nats.connect(url)
        try:
            return int((await nc.jetstream().stream_info(stream)).state.messages)
        finally:
            await nc.close()
    return asyncio.run(run())


def _publish_alerts(url: str, updates: list[tuple[dict[str, Any], str]]) -> None:
    """Alert updates onto the alerts stream as a worker sends them, each with its own message id (so
    JetStream's de-duplication does not hide the repeats: the server must fold them itself)."""
    import nats

    async def run() -> None:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            for u, msg_id in updates:
                await js.publish("cnsec.alerts.3", orjson.dumps(u), headers={"Nats-Msg-Id": msg_id})
        finally:
            await nc.close()
    asyncio.run(run())


def _publish_lines(url: str, lines: list[bytes], msg_id: str) -> None:
    """Several alert updates in one message, one a line, as a worker sends them."""
    import nats

    async def run() -> None:
        nc = await nats.connect(url)
        try:
            await nc.jetstream().publish("cnsec.alerts.3", b"\n".join(lines), headers={"Nats-Msg-Id": msg_id})
        finally:
            await nc.close()
    asyncio.run(run())


def _wait_acked(url: str, n: int, timeout: float = 15.0) -> None:
    """Until the server's consumer acknowledged (after its commit) the first ``n`` alert updates."""
    import nats

    async def floor() -> int:
        nc = await nats.connect(url)
        try:
            info = await nc.jetstream().consumer_info("CNSEC_ALERTS", Settings().bus_consumer)
            return int(info.ack_floor.stream_seq if info.ack_floor else 0)
        finally:
            await nc.close()
    deadline = time.monotonic() + timeout
    while (done := asyncio.run(floor())) < n:
        assert time.monotonic() < deadline, f"{done} of {n} alert updates stored"
        time.sleep(0.1)


class SlowLink:
    """A TCP proxy to the nats-server that delays everything the server sends by ``delay`` seconds
    (acknowledgements included): a far-away bus, to see whether requests wait for it one at a time."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        import threading

        self.delay = delay
        self.upstream = upstream_port
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(5)

    def _run(self, ready: Any) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream)
        pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:  # client -> server, at once
            while data := await reader.read(65536):
                up_w.write(data)
            up_w.close()

        async def back_in() -> None:
            while data := await up_r.read(65536):
                pending.put_nowait((time.monotonic() + self.delay, data))
            pending.put_nowait((0.0, b""))

        async def back_out() -> None:  # server -> client, late, in order
            while True:
                due, data = await pending.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
            writer.close()

        await asyncio.gather(forward(), back_in(), back_out(), return_exceptions=True)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_requests_wait_for_the_bus_side_by_side_not_one_after_another(
        db_url: str, fast_ph: object, nats_server: NatsServer, role_users: dict[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from cnsec.serve.app import create_app

    link = SlowLink(nats_server.port, delay=0.25)
    try:
        ctx = ServeContext.open(Settings(db_url=db_url, bus=f"nats://127.0.0.1:{link.port}", bus_timeout=10.0),
                                ph=fast_ph)
        token = ctx.tokens.issue("ingest").access_token
        bodies = [_synthetic(100, start=1000 * i) for i in range(8)]
        with TestClient(create_app(context=ctx)) as c:
            def post(body: dict[str, Any]) -> float:
                t = time.perf_counter()
                r = c.post("/v1/ingest/k8s-audit", json=body, headers=bearer(token))
                assert r.status_code == 200, r.text
                return time.perf_counter() - t

            one = post(_synthetic(100, start=99_000))
            start = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                each = list(pool.map(post, bodies))
            together = time.perf_counter() - start
    finally:
        link.close()
    # one request waits at least one delayed round trip; eight waiting one after another would take
    # eight times that, side by side about one (measured here: one 0.33 s, eight at once 0.31 s)
    print(f"one request {one:.3f} s; eight at once {together:.3f} s (each {min(each):.3f}-{max(each):.3f} s)")
    assert one >= 0.25
    assert together < 4 * one, (one, together, each)
