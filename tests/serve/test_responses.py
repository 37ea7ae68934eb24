"""Responses: a dry run is stored as the plan, only an approved plan is applied (once), every step is an
IAM audit record, and the respond engine's allow-list holds here too."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from cnsec.respond import ActionContext
from cnsec.serve.context import ServeContext
from cnsec.serve.services import responses
from cnsec.store import schema
from tests.serve.conftest import bearer


class Hook:
    """A webhook receiver on loopback: the bodies it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook(serve_ctx: ServeContext, tmp_path: Path) -> Iterator[Hook]:
    """The server's respond engine, with its webhook URL in the environment and its trail under tmp."""
    h = Hook()
    serve_ctx.parts[responses.ACTION_CONTEXT] = lambda apply: ActionContext(
        apply=apply, env={"CNSEC_WEBHOOK_URL": h.url})
    object.__setattr__(serve_ctx.settings, "respond_audit_log", str(tmp_path / "respond-trail.jsonl"))
    yield h
    h.server.shutdown()


def _events(ctx: ServeContext, subject: str) -> list[tuple[str, str, str]]:
    return [(e.event, e.actor, e.outcome) for e in ctx.iam.audit_entries(limit=1000) if e.subject == subject]


def test_a_response_is_planned_approved_and_applied_once_with_every_step_audited(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str], hook: Hook) -> None:
    r = client.post("/v1/responses", headers=bearer(role_users["analyst"]),
                    json={"key": "user=mallory", "action": "notify", "params": {"prefix": "[sec] "}})
    assert r.status_code == 201, r.text
    planned = r.json()
    rid = planned["id"]
    assert planned["status"] == "planned" and planned["dry_run"]["counts"] == {"planned": 1}
    assert "user=mallory" in next(iter(planned["dry_run"]["artifacts"].values()))
    assert hook.bodies == []  # a dry run sends nothing
    assert hook.url not in json.dumps(planned)  # a webhook URL is a credential

    responder = bearer(role_users["responder"])
    early = client.post(f"/v1/responses/{rid}/apply", headers=responder)
    assert early.status_code == 409 and early.json()["error"]["code"] == "wrong_state"
    assert client.post(f"/v1/responses/{rid}/approve", headers=responder).json()["status"] == "approved"
    applied = client.post(f"/v1/responses/{rid}/apply", headers=responder).json()
    assert applied["status"] == "applied" and applied["result"]["counts"] == {"applied": 1}
    assert len(hook.bodies) == 1 and hook.bodies[0]["text"].startswith("[sec] [HIGH]")
    assert client.post(f"/v1/responses/{rid}/apply", headers=responder).status_code == 409
    assert len(hook.bodies) == 1
    assert _events(serve_ctx, str(rid)) == [("response-plan", "analyst", "success"),
                                            ("response-approve", "responder", "success"),
                                            ("response-apply", "responder", "success")]


def test_a_rejected_response_is_never_applied(client: TestClient, serve_ctx: ServeContext,
                                             role_users: dict[str, str], hook: Hook) -> None:
    rid = client.post("/v1/responses", headers=bearer(role_users["responder"]),
                      json={"key": "user=mallory", "action": "notify"}).json()["id"]
    r = client.post(f"/v1/responses/{rid}/reject", headers=bearer(role_users["admin"]), json={"reason": "false alarm"})
    assert r.json()["status"] == "rejected" and r.json()["decided_by"] == "admin"
    assert client.post(f"/v1/responses/{rid}/approve", headers=bearer(role_users["admin"])).status_code == 409
    assert client.post(f"/v1/responses/{rid}/apply", headers=bearer(role_users["admin"])).status_code == 409
    assert hook.bodies == []
    assert ("response-reject", "admin", "success") in _events(serve_ctx, str(rid))


def test_a_response_to_a_stored_alert_acts_on_that_alert(client: TestClient, serve_ctx: ServeContext,
                                                         role_users: dict[str, str], hook: Hook) -> None:
    alert = {"rule_id": "k8s-audit-brute-force", "title": "Credential spraying", "severity": "high",
             "threat_id": "credential-abuse", "key": "src_ip=203.0.113.7", "first_seen": "2026-12-07T06:00:00Z",
             "last_seen": "2026-12-07T06:05:00Z", "count": 40, "action": None, "attack_ids": [], "evidence": []}
    with serve_ctx.engine.begin() as conn:
        conn.execute(insert(schema.serve_alerts).values(
            id="a1", rule=alert["rule_id"], title=alert["title"], severity="high", key=alert["key"],
            first_seen=0.0, last_seen=0.0, count=40, status="open", stored_at=0.0, updated_at=0.0,
            data=json.dumps(alert)))
    r = client.post("/v1/responses", headers=bearer(role_users["analyst"]),
                    json={"alert_id": "a1", "action": "block_traffic", "params": {"via": ["networkpolicy"]}})
    assert r.status_code == 201, r.text
    decision = r.json()["dry_run"]["decisions"][0]
    assert decision["outcome"] == "planned" and decision["subject"] == "203.0.113.7/32"
    assert "203.0.113.7/32" in r.json()["dry_run"]["artifacts"]["networkpolicy-default-cnsec-blocklist.yaml"]
    listed = client.get("/v1/responses", headers=bearer(role_users["viewer"]), params={"alert_id": "a1"}).json()
    assert [x["id"] for x in listed["items"]] == [r.json()["id"]]
    missing = client.post("/v1/responses", headers=bearer(role_users["analyst"]),
                          json={"alert_id": "nope", "action": "notify"})
    assert missing.status_code == 404


def test_the_allow_list_of_the_respond_engine_protects_the_api_server_address(
        client: TestClient, role_users: dict[str, str], hook: Hook) -> None:
    r = client.post("/v1/responses", headers=bearer(role_users["analyst"]),
                    json={"key": "src_ip=10.96.0.1", "action": "block_traffic", "params": {"via": ["networkpolicy"]}})
    decision = r.json()["dry_run"]["decisions"][0]
    assert decision["outcome"] == "skipped" and "allow-listed" in decision["reason"]


@pytest.mark.parametrize(("body", "word"), [
    ({"key": "src_ip=203.0.113.7", "action": "block_traffic", "params": {"blocklist_file": "/etc/passwd"}},
     "operator"),
    ({"key": "user=x", "action": "notify", "params": {"url": "http://169.254.169.254/"}}, "operator"),
    ({"key": "user=x", "action": "rm_rf"}, "unknown action"),
    ({"key": "user=x", "action": "notify", "params": {"timeout": "soon"}}, "timeout"),
    ({"action": "notify"}, "key"),
])
def test_a_response_the_server_must_not_plan_is_a_400_that_says_why(
        client: TestClient, role_users: dict[str, str], hook: Hook, body: dict[str, Any], word: str) -> None:
    r = client.post("/v1/responses", headers=bearer(role_users["admin"]), json=body)
    assert r.status_code == 400 and word in r.json()["error"]["message"]


def test_the_actions_list_leaves_out_what_only_the_operator_sets(client: TestClient,
                                                                  role_users: dict[str, str]) -> None:
    items = client.get("/v1/responses/actions", headers=bearer(role_users["viewer"])).json()["items"]
    by_id = {a["id"]: a for a in items}
    assert {"block_traffic", "notify", "quarantine_pod", "deny_access"} <= set(by_id)
    assert "blocklist_file" not in by_id["block_traffic"]["params"] and "url" not in by_id["notify"]["params"]
