"""Ingest end to end with the real detector: the alerts the server stores are the ones `cnsec detect`
makes of the same events; and SIGKILL in the middle of a stream loses no acknowledged event."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from cnsec.iam import passwords
from cnsec.serve.auth import add_key
from cnsec.serve.context import ServeContext
from cnsec.serve.ingest.part import ingest_of
from cnsec.serve.settings import Settings
from cnsec.serve.startup import prepare
from cnsec.store import schema
from tests.serve.conftest import bearer
from tests.serve.ingest.corpus import batches, expected_alerts, varied


def stored(ctx_or_engine: Any) -> dict[str, tuple[int, float, float]]:
    engine = getattr(ctx_or_engine, "engine", ctx_or_engine)
    t = schema.serve_alerts
    with engine.connect() as conn:
        return {r.id: (r.count, r.first_seen, r.last_seen)
                for r in conn.execute(select(t.c.id, t.c.count, t.c.first_seen, t.c.last_seen))}


def test_alerts_from_posted_audit_batches_equal_what_cnsec_detect_makes_of_them(
        app: Any, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    posted = batches(varied(2000))
    c = TestClient(app)
    for b in posted:
        assert c.post("/v1/ingest/k8s-audit", json=b, headers=bearer(role_users["ingest"])).status_code == 200
    ingest_of(serve_ctx)[1].drain()
    want = expected_alerts(posted)
    assert want, "the corpus events raise alerts"
    assert stored(serve_ctx) == want


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CNSEC_DB": url}
    proc = subprocess.Popen([sys.executable, "-m", "cnsec", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


def _state(engine: Any) -> tuple[int, int, int]:
    """(rows queued, last seq checkpointed, events fed as of the checkpoint)."""
    from sqlalchemy import func

    with engine.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar() or 0
        row = conn.execute(select(schema.serve_detector_state.c.seq, schema.serve_detector_state.c.events)).first()
    return int(queued), int(row.seq) if row else 0, int(row.events) if row else 0


def _wait_drained(engine: Any, timeout: float = 90) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _state(engine)
        if state[0] == 0 and state[1] > 0:
            return state
        time.sleep(0.2)
    raise AssertionError(f"the queue did not drain: {_state(engine)}")


def test_sigkill_during_ingest_loses_no_acknowledged_event_and_doubles_no_alert(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    ctx = ServeContext.open(Settings(db_url=url), ph=passwords.hasher(memory_kib=64, time_cost=1, parallelism=1))
    prepare(ctx)
    ctx.iam.add_user("webhook", "correct horse battery staple", ["ingest"])
    key, _ = add_key(ctx, "webhook", "test webhook")
    all_batches = batches(varied(12000), 400)  # 30 webhook batches
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = _start(url, port, log)
    acked: list[int] = []  # indexes of acknowledged batches, in order
    in_flight: list[int] = []
    done = threading.Event()

    def post_until_refused() -> None:
        with httpx.Client(timeout=10) as client:
            for i, b in enumerate(all_batches):
                in_flight[:] = [i]
                try:
                    r = client.post(f"http://127.0.0.1:{port}/v1/ingest/k8s-audit", json=b, headers=bearer(key))
                except httpx.HTTPError:
                    break
                if r.status_code != 200:
                    break
                acked.append(i)
        done.set()

    poster = threading.Thread(target=post_until_refused)
    poster.start()
    while len(acked) < 8:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    poster.join()
    first_run = list(acked)
    maybe = in_flight[0] if in_flight and in_flight[0] not in acked else None
    assert 8 <= len(first_run) < len(all_batches)

    proc = _start(url, port, log)
    try:
        rest = list(range(first_run[-1] + 1 + (1 if maybe is not None else 0), len(all_batches)))
        with httpx.Client(timeout=10) as client:
            for i in rest:
                r = client.post(f"http://127.0.0.1:{port}/v1/ingest/k8s-audit", json=all_batches[i],
                                headers=bearer(key))
                assert r.status_code == 200, r.text
                acked.append(i)
        _, _, events = _wait_drained(ctx.engine)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    acked_events = sum(len(all_batches[i]["items"]) for i in acked)
    # the request in flight at the kill may or may not have been committed: never half of it
    in_flight_events = len(all_batches[maybe]["items"]) if maybe is not None else 0
    assert events in (acked_events, acked_events + in_flight_events), (events, acked_events, in_flight_events)
    fed = sorted(acked + ([maybe] if maybe is not None and events != acked_events else []))
    assert stored(ctx) == expected_alerts([all_batches[i] for i in fed])


def test_json_lines_of_two_sources_in_one_request_are_two_streams_as_two_files_are_to_cnsec_detect(
        app: Any, serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    """Found by the dashboard's browser test: audit records and CloudTrail posted together to
    /v1/ingest/events gave only the audit alerts (the stream was read as its first line's source)."""
    import json

    from cnsec.detect import Detector

    audit = [json.dumps(e) for e in varied(300)]
    ct_dir = (Path(__file__).resolve().parents[3] / "../shared/corpora/detect/logs/falco-plugin-cloudtrail-traces")
    trail = [json.dumps(r) for f in sorted(ct_dir.glob("*.json")) for r in json.loads(f.read_text())["Records"]]
    assert trail
    c = TestClient(app)
    body = "\n".join(audit + trail).encode()
    r = c.post("/v1/ingest/events", content=body, headers=bearer(role_users["ingest"]))
    assert r.status_code == 200 and r.json()["accepted"] == len(audit) + len(trail)
    ingest_of(serve_ctx)[1].drain()
    det = Detector.load(rules=[], default_rules=True, correlate=True)
    want: dict[str, tuple[int, float, float]] = {}
    for src, lines in (("k8s-audit", audit), ("cloudtrail", trail)):
        for a in det.feed([x.encode() for x in lines], source=src, name=src):
            want[a.id] = (a.count, a.first_seen, a.last_seen)
    got = stored(serve_ctx)
    assert any(k for k in want) and got == want
