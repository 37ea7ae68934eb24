"""Ingest: bodies checked and queued durably before the answer, the queue fed in order into alerts, and
a crash between the two neither losing nor doubling anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.ingest.part import ingest_of
from cnsec.serve.ingest.worker import Worker
from cnsec.serve.settings import Settings
from cnsec.store import schema
from tests.serve.conftest import bearer
from tests.serve.ingest.helpers import CountingDetector, event_list


@pytest.fixture
def counting(serve_ctx: ServeContext) -> ServeContext:
    serve_ctx.parts["detector_factory"] = CountingDetector
    return serve_ctx


@pytest.fixture
def quiet_app(counting: ServeContext) -> FastAPI:
    """The app without its lifespan run: nothing takes from the queue unless a test steps the worker."""
    return create_app(context=counting)


def queued(ctx: ServeContext) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar() or 0)


def stored_alerts(ctx: ServeContext) -> dict[str, int]:
    t = schema.serve_alerts
    with ctx.engine.connect() as conn:
        return {k: c for k, c in conn.execute(select(t.c.key, t.c.count))}


def test_an_audit_webhook_batch_is_committed_to_the_queue_before_it_is_acknowledged(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    c = TestClient(quiet_app)
    r = c.post("/v1/ingest/k8s-audit", json=event_list(["alice", "bob", "alice"]), headers=bearer(role_users["ingest"]))
    assert r.status_code == 200 and r.json()["accepted"] == 3
    assert queued(counting) == 1


def test_only_a_caller_with_ingest_write_may_post_events(quiet_app: FastAPI, role_users: dict[str, str]) -> None:
    c = TestClient(quiet_app)
    for role in ("viewer", "analyst", "responder"):
        r = c.post("/v1/ingest/k8s-audit", json=event_list(["a"]), headers=bearer(role_users[role]))
        assert r.status_code == 403, role
    assert c.post("/v1/ingest/k8s-audit", json=event_list(["a"])).status_code == 401


@pytest.mark.parametrize(("path", "body", "says"), [
    ("/v1/ingest/k8s-audit", b"{not json", "not JSON"),
    ("/v1/ingest/k8s-audit", b'{"kind": "PodList", "items": []}', "EventList"),
    ("/v1/ingest/k8s-audit", b'{"kind": "EventList", "items": [{}, 3]}', "items[1]"),
    ("/v1/ingest/falco", b'{"output": "x"}', "index 0"),
    ("/v1/ingest/events", b'{"a": 1}\n\n[1]\n{"b"\n', "first line 3"),
])
def test_a_bad_body_is_a_400_saying_where_and_nothing_is_queued(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str], path: str, body: bytes,
        says: str) -> None:
    r = TestClient(quiet_app).post(path, content=body, headers=bearer(role_users["ingest"]))
    assert r.status_code == 400 and says in r.json()["error"]["message"], r.text
    assert queued(counting) == 0


def test_falco_output_one_event_or_a_list_is_taken(quiet_app: FastAPI, counting: ServeContext,
                                                   role_users: dict[str, str]) -> None:
    ev = {"output": "Shell spawned", "priority": "Warning", "rule": "Terminal shell in container",
          "time": "2026-11-01T10:00:00.000000000Z", "output_fields": {"k8s.pod.name": "web-1"}}
    c = TestClient(quiet_app)
    assert c.post("/v1/ingest/falco", json=ev, headers=bearer(role_users["ingest"])).json()["accepted"] == 1
    assert c.post("/v1/ingest/falco", json=[ev, ev], headers=bearer(role_users["ingest"])).json()["accepted"] == 2


def test_a_full_queue_answers_503_with_retry_after_and_drops_nothing_it_acknowledged(
        counting: ServeContext, role_users: dict[str, str]) -> None:
    small = ServeContext(Settings(db_url=counting.settings.db_url, queue_max_batches=2), counting.engine,
                         counting.iam, counting.tokens, parts={"detector_factory": CountingDetector})
    c = TestClient(create_app(context=small))
    answers = [c.post("/v1/ingest/k8s-audit", json=event_list(["a"]), headers=bearer(role_users["ingest"]))
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 503]
    assert answers[2].headers["retry-after"] == "2" and answers[2].json()["error"]["code"] == "queue_full"
    assert queued(small) == 2


def _post_batches(c: TestClient, token: str, batches: list[list[str]]) -> None:
    for users in batches:
        assert c.post("/v1/ingest/k8s-audit", json=event_list(users), headers=bearer(token)).status_code == 200


def test_the_worker_turns_queued_batches_into_alerts_and_a_checkpoint_empties_the_queue(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    _post_batches(TestClient(quiet_app), role_users["ingest"], [["alice", "bob"], ["alice"]])
    _, worker = ingest_of(counting)
    worker.drain()
    assert stored_alerts(counting) == {"alice": 2, "bob": 1}
    assert queued(counting) == 0


def test_a_crash_after_storing_alerts_but_before_the_checkpoint_replays_to_the_same_alerts(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    c = TestClient(quiet_app)
    _post_batches(c, role_users["ingest"], [["alice", "bob"], ["alice"]])
    queue, worker = ingest_of(counting)
    worker.drain()  # checkpoint at seq 2
    _post_batches(c, role_users["ingest"], [["alice"], ["carol"]])
    worker.checkpoint_every = 1e9
    worker.step()  # alerts stored for seq 3-4, no checkpoint: then the process "dies"
    assert stored_alerts(counting) == {"alice": 3, "bob": 1, "carol": 1}
    assert queued(counting) == 2
    reborn = Worker(counting.engine, queue, CountingDetector)
    reborn.restore()
    assert reborn.seq == 2
    reborn.drain()
    assert stored_alerts(counting) == {"alice": 3, "bob": 1, "carol": 1}  # nothing doubled
    assert queued(counting) == 0


def test_people_set_status_and_assignee_and_new_hits_do_not_undo_them(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    c = TestClient(quiet_app)
    _post_batches(c, role_users["ingest"], [["alice"]])
    ingest_of(counting)[1].drain()
    alert_id = c.get("/v1/alerts", headers=bearer(role_users["viewer"])).json()["items"][0]["id"]
    analyst = bearer(role_users["analyst"])
    assert c.post(f"/v1/alerts/{alert_id}/ack", headers=analyst).json()["status"] == "acknowledged"
    assert c.post(f"/v1/alerts/{alert_id}/assign", json={"assignee": "responder"},
                  headers=analyst).json()["assignee"] == "responder"
    _post_batches(c, role_users["ingest"], [["alice"]])
    ingest_of(counting)[1].drain()
    got = c.get(f"/v1/alerts/{alert_id}", headers=analyst).json()
    assert (got["count"], got["status"], got["assignee"]) == (2, "acknowledged", "responder")
    assert c.post(f"/v1/alerts/{alert_id}/ack", headers=bearer(role_users["viewer"])).status_code == 403
    closed = c.post(f"/v1/alerts/{alert_id}/close", json={"reason": "expected admin work"}, headers=analyst).json()
    assert closed["status"] == "closed" and closed["comments"][-1]["text"] == "closed: expected admin work"
    events = [e.event for e in counting.iam.audit_entries(limit=50)]
    assert {"alert-ack", "alert-assign", "alert-close", "alert-comment"} <= set(events)
    assert counting.iam.verify_audit_chain().intact


def test_alerts_are_paged_newest_first_with_a_cursor_that_never_repeats_or_skips(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    c = TestClient(quiet_app)
    _post_batches(c, role_users["ingest"], [[f"user-{i}" for i in range(23)]])
    ingest_of(counting)[1].drain()
    seen: list[str] = []
    cursor: Any = None
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = c.get("/v1/alerts", params=params, headers=bearer(role_users["viewer"])).json()
        seen += [a["key"] for a in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == [f"user-{i}" for i in reversed(range(23))]
    bad = c.get("/v1/alerts", params={"cursor": "nonsense"}, headers=bearer(role_users["viewer"]))
    assert bad.status_code == 400


def test_the_stored_alert_keeps_the_detectors_evidence_and_shape(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str]) -> None:
    _post_batches(TestClient(quiet_app), role_users["ingest"], [["alice"]])
    ingest_of(counting)[1].drain()
    with counting.engine.connect() as conn:
        data = orjson.loads(conn.execute(select(schema.serve_alerts.c.data)).scalar_one())
    assert data["rule_id"] == "TEST-1" and data["key"] == "alice" and "id" in data


def test_cnsec_serve_takes_rules_threats_and_lateness_from_its_options_and_refuses_a_negative_lateness(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnsec.cli import build_parser
    from cnsec.errors import UsageError
    from cnsec.serve.cli import _settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r1").mkdir()
    (tmp_path / "r2").write_text("")

    parse = build_parser("serve").parse_args
    default = _settings(parse(["serve"]))
    assert (default.rules, default.default_rules, default.threats, default.lateness) == ((), True, True, 120.0)
    s = _settings(parse(["serve", "--rules", "r1", "--rules", "r2", "--no-default-rules", "--no-threats",
                         "--lateness", "30"]))
    assert (s.rules, s.default_rules, s.threats, s.lateness) == (("r1", "r2"), False, False, 30.0)
    with pytest.raises(UsageError, match="--lateness"):
        _settings(parse(["serve", "--lateness", "-1"]))
    # a rules path that is not there is said at start, as `cnsec detect --rules` says it, not found
    # later by a worker that cannot load (and restarts)
    with pytest.raises(UsageError, match="--rules missing: no such file or folder"):
        _settings(parse(["serve", "--rules", "r1", "--rules", "missing"]))


def test_a_rule_the_server_s_detector_cannot_load_is_named_in_the_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from cnsec.serve.ingest.part import load_detector

    (tmp_path / "good.py").write_text(
        "from cnsec.detect.rules.pyrules import PythonRule\n"
        "RULE = PythonRule(id='TEST-GOOD-1', title='t', severity='low', source='k8s-audit', match=lambda e: True)\n")
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    with caplog.at_level("WARNING", logger="cnsec.serve.ingest"):
        load_detector([str(tmp_path)], False, False, 120.0)
    assert any("rule not loaded" in m and "broken.yml" in m for m in caplog.messages), caplog.messages


def test_a_snapshot_stored_under_other_rules_or_settings_is_not_restored_and_the_log_says_why(
        quiet_app: FastAPI, counting: ServeContext, role_users: dict[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    """The stored state names the detector's fingerprint: a server restarted with other rules starts
    with empty windows (said), and one with the same takes the snapshot up."""
    c = TestClient(quiet_app)
    _post_batches(c, role_users["ingest"], [["alice", "bob"]])
    queue, worker = ingest_of(counting)
    worker.drain()

    class OtherRules(CountingDetector):
        fingerprint = "counting-v2"

    same = Worker(counting.engine, queue, CountingDetector)
    same.restore()
    assert same.detector.counts["alice"][0] == 1  # taken up
    other = Worker(counting.engine, queue, OtherRules)
    with caplog.at_level("WARNING"):
        other.restore()
    assert other.detector.counts == {} and other.seq == worker.seq
    assert "rules or detection settings changed since the last checkpoint" in caplog.text


def test_the_server_s_detector_correlates_threats_only_when_its_settings_say_so() -> None:
    from cnsec.serve.ingest.part import detector_factory

    class Ctx:
        parts: dict[str, object] = {}

        def __init__(self, settings: Settings) -> None:
            self.settings = settings

    on = detector_factory(Ctx(Settings(threats=True)))()  # type: ignore[arg-type]
    off = detector_factory(Ctx(Settings(threats=False)))()  # type: ignore[arg-type]
    assert on._correlation is not None and off._correlation is None
    # a snapshot taken with other correlation settings is not restored into this detector
    late = detector_factory(Ctx(Settings(threats=True, lateness=30.0)))()  # type: ignore[arg-type]
    assert len({on.fingerprint, off.fingerprint, late.fingerprint}) == 3
