"""What the server says about itself: /metrics (by route template, one registry per server), the JSON
access log (one line a request, never a credential), and the answer to a bug."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cnsec.serve.app import create_app
from cnsec.serve.auth import add_key, public
from cnsec.serve.context import ServeContext
from cnsec.serve.logs import JsonFormatter
from cnsec.serve.metrics import ALERTS_STORED, INGEST_EVENTS, QUEUE_DEPTH
from cnsec.serve.settings import Settings
from cnsec.serve.startup import prepare
from tests.serve.conftest import bearer

REPO = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The scrape parsed by prometheus-client's own parser: (sample name, labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def with_probe_route(app: FastAPI) -> FastAPI:
    """A route with a path parameter, to see the template (not the raw path) in labels and logs."""

    @app.get("/v1/probe/{thing_id}", dependencies=[public()])
    def probe(thing_id: str) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/v1/bug", dependencies=[public()])
    def bug() -> None:
        raise RuntimeError("boom with a secret " + "s3" + "cr3t")  # made at run time: not on a source line

    @app.get("/v1/db-bug", dependencies=[public()])
    def db_bug() -> None:
        from sqlalchemy import text

        with app.state.cnsec.engine.begin() as conn:  # a constraint broken: a bug, not an outage
            conn.execute(text("CREATE TEMP TABLE t (v TEXT UNIQUE)"))
            for _ in range(2):
                conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "tok-" + "in-the-" + "parameters"})

    return app


def test_metrics_need_the_metrics_read_permission(client: TestClient, role_users: dict[str, str]) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(role_users["ingest"])).status_code == 403
    r = client.get("/metrics", headers=bearer(role_users["viewer"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_request_metrics_are_labelled_by_route_template_never_by_raw_path(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    with TestClient(with_probe_route(create_app(context=serve_ctx))) as c:
        for thing in ("a1", "b2", "tok-abc123"):
            assert c.get(f"/v1/probe/{thing}").status_code == 200
        c.get("/v1/no/such/path/secretish")
        text = c.get("/metrics", headers=bearer(role_users["admin"])).text
    got = samples(text)
    assert got[("cnsec_http_requests_total", (("method", "GET"), ("route", "/v1/probe/{thing_id}"),
                                              ("status", "200")))] == 3
    assert got[("cnsec_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    assert got[("cnsec_http_request_duration_seconds_count", (("method", "GET"),
                                                              ("route", "/v1/probe/{thing_id}")))] == 3
    assert "tok-abc123" not in text and "secretish" not in text


def test_parts_count_into_their_own_servers_registry(serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    other = ServeContext(serve_ctx.settings, serve_ctx.engine, serve_ctx.iam, serve_ctx.tokens)
    INGEST_EVENTS.of(serve_ctx).inc(400)
    ALERTS_STORED.of(serve_ctx).inc()
    INGEST_EVENTS.of(other).inc(5)
    QUEUE_DEPTH.of(other).set(7)
    with TestClient(create_app(context=serve_ctx)) as c:
        got = samples(c.get("/metrics", headers=bearer(role_users["admin"])).text)
    assert got[("cnsec_ingest_events_total", ())] == 400
    assert got[("cnsec_ingest_queue_depth", ())] == 0
    assert got[("cnsec_alerts_stored_total", ())] == 1


def _post_and_scrape(serve_ctx: ServeContext, role_users: dict[str, str],
                     events: list[dict[str, object]]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Post the events as the API server's webhook does; the scrape once the worker took them all (or 30 s)."""
    batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events}
    with TestClient(create_app(context=serve_ctx)) as c:
        assert c.post("/v1/ingest/k8s-audit", json=batch, headers=bearer(role_users["ingest"])).status_code == 200
        deadline = time.monotonic() + 30
        while True:
            got = samples(c.get("/metrics", headers=bearer(role_users["admin"])).text)
            if got[("cnsec_ingest_events_total", ())] >= len(events) or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


def test_ingested_events_and_stored_alerts_are_counted_from_the_worker(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    """The attack example's audit events posted as the API server's webhook posts them; the scrape
    follows the worker (thread mode here) until the queue is empty."""
    events = [json.loads(line) for line in (REPO / "examples" / "attack" / "audit.log").read_text().splitlines()]
    got = _post_and_scrape(serve_ctx, role_users, events)
    assert got[("cnsec_ingest_events_total", ())] == len(events)
    assert got[("cnsec_alerts_stored_total", ())] >= 1  # the example's exec into a pod is an alert
    assert got[("cnsec_ingest_queue_depth", ())] <= 1


def test_the_worker_process_counts_are_taken_once_each_scrape(serve_ctx: ServeContext) -> None:
    """In process mode the worker counts in shared memory (cumulative); each scrape adds what is new."""
    import multiprocessing
    from types import SimpleNamespace

    from cnsec.serve.metrics import render

    proc = SimpleNamespace(fed=multiprocessing.Value("q", 400), stored=multiprocessing.Value("q", 3),
                           problems=multiprocessing.Value("q", 2), restarts=1)
    serve_ctx.parts["ingest_process"] = proc
    first = samples(render(serve_ctx)[0].decode())
    proc.fed.value += 800
    twice = samples(render(serve_ctx)[0].decode())
    again = samples(render(serve_ctx)[0].decode())
    assert first[("cnsec_ingest_events_total", ())] == 400 and first[("cnsec_alerts_stored_total", ())] == 3
    assert twice[("cnsec_ingest_events_total", ())] == again[("cnsec_ingest_events_total", ())] == 1200
    assert again[("cnsec_ingest_worker_restarts", ())] == 1
    assert again[("cnsec_ingest_problems_total", ())] == 2


def test_problems_detection_reports_on_ingested_events_are_counted_on_metrics_not_only_logged(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    """The attack example's audit events without their times: the rules still match, but correlation
    cannot place them in time; each such problem is a log warning and a count a scrape shows."""
    events = [json.loads(line) for line in (REPO / "examples" / "attack" / "audit.log").read_text().splitlines()]
    for e in events:
        e.pop("requestReceivedTimestamp", None)
        e.pop("stageTimestamp", None)
    got = _post_and_scrape(serve_ctx, role_users, events)
    assert got[("cnsec_ingest_events_total", ())] == len(events)
    assert got[("cnsec_ingest_problems_total", ())] >= 1


def test_readiness_sets_the_database_up_gauge(client: TestClient, role_users: dict[str, str]) -> None:
    assert client.get("/readyz").status_code == 200
    assert samples(client.get("/metrics", headers=bearer(role_users["admin"])).text)[("cnsec_database_up", ())] == 1


def test_a_bug_is_a_json_500_with_the_request_id_and_the_log_has_no_exception_text(
        serve_ctx: ServeContext, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cnsec"), \
            TestClient(with_probe_route(create_app(context=serve_ctx)), raise_server_exceptions=False) as c:
        r = c.get("/v1/bug", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-42"
    assert r.json()["error"]["code"] == "internal" and "req-42" in r.json()["error"]["message"]
    assert "s3cr3t" not in r.text and r.headers["x-frame-options"] == "DENY"
    lines = [JsonFormatter().format(rec) for rec in caplog.records]
    bug = [json.loads(line) for line in lines if '"internal error"' in line]
    assert bug and bug[0]["request_id"] == "req-42" and "RuntimeError" in bug[0]["exc"]
    assert "s3cr3t" not in "\n".join(lines)
    access = [json.loads(line) for line in lines if '"msg":"request"' in line]
    assert access[-1]["status"] == 500 and access[-1]["route"] == "/v1/bug"


def test_a_database_bug_is_500_and_its_log_line_has_the_drivers_message_but_not_the_parameters(
        serve_ctx: ServeContext, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cnsec"), \
            TestClient(with_probe_route(create_app(context=serve_ctx)), raise_server_exceptions=False) as c:
        r = c.get("/v1/db-bug")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    text = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    assert "IntegrityError" in text
    assert "UNIQUE constraint failed" in text or "duplicate key value violates unique constraint" in text  # SQLite, PG
    assert "tok-in-the-parameters" not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")


def test_the_server_logs_one_json_line_a_request_and_never_a_password_token_key_or_cookie(
        tmp_path: Path, fast_ph: object) -> None:
    """The real `cnsec serve` process, everything it writes captured, then searched for each credential."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    ctx = ServeContext.open(Settings(db_url=url), ph=fast_ph)
    prepare(ctx)
    password = "Pa55-known-to-the-test-" + "x" * 8
    ctx.iam.add_user("alice", password, ["admin"])
    key, _ = add_key(ctx, "alice", "scraper")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "cnsec", "serve", "--db", url, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_ready(base, proc)
        with httpx.Client(base_url=base) as c:
            login = c.post("/v1/session", json={"username": "alice", "password": password})
            assert login.status_code == 200
            cookie = login.cookies["cnsec_session"]
            assert c.get("/v1/session").status_code == 200  # by the cookie
            token = ctx.tokens.issue("alice").access_token
            assert httpx.get(f"{base}/v1/session", headers=bearer(token)).json()["via"] == "token"
            assert c.get("/metrics", headers=bearer(key)).status_code == 200
            assert c.get(f"/v1/session?token={token}&api_key={key}").status_code == 200
            assert c.post("/v1/session", json={"username": "alice", "password": password + "-wrong"}
                          ).status_code == 401
            assert c.get(f"/v1/findings/{key}").status_code == 404  # a credential in the path
            assert c.get(f"/v1/no-such-thing/{key}").status_code == 404  # and in a path no route has
            assert c.get("/healthz", headers={"X-Api-Key": key, "Authorization": f"Basic {key}"}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    text = out.decode(errors="replace")
    for secret in (password, key, key.split("_")[-1], token, cookie):
        assert secret not in text, "a credential reached the log"
    # every line is JSON, but for what Python's multiprocessing resource tracker (a process of its own,
    # outside the server's logging) writes about the ingest worker's semaphores at exit
    # (a warning: its location line and the source line under it)
    all_lines = text.splitlines()
    tracker = {i + k for i, line in enumerate(all_lines) if "multiprocessing/resource_tracker" in line for k in (0, 1)}
    lines = [json.loads(line) for i, line in enumerate(all_lines) if line.strip() and i not in tracker]
    access = [line for line in lines if line.get("logger") == "cnsec.serve.access"]
    assert len(access) >= 9
    assert {"method", "route", "status", "duration_ms", "user", "request_id"} <= set(access[0])
    by_route = {(a["method"], a["route"], a["status"]) for a in access}
    assert ("POST", "/v1/session", 401) in by_route and ("GET", "<unmatched>", 404) in by_route
    assert any(a["user"] == "alice" and a["route"] == "/metrics" for a in access)
