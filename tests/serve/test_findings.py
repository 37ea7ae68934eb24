"""The findings list (filters, sort, keyset pages that hold still under writes) and triage (suppress with
a reason and an expiry, unsuppress, assign, comment, in bulk), each change an IAM audit record."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cnsec.serve.context import ServeContext
from cnsec.serve.services import assessments, findings
from tests.iam.conftest import Clock
from tests.serve.conftest import bearer
from tests.serve.resources import EXAMPLES, all_findings


@pytest.fixture
def shop(serve_ctx: ServeContext) -> int:
    """The shop example assessed once (target "shop"): its assessment id."""
    aid = assessments.create(serve_ctx, "shop", "path", "test")
    assessments.run(serve_ctx, aid, "shop", str(EXAMPLES / "shop"))
    assert assessments.get(serve_ctx, aid)["status"] == "done"
    return aid


def synthetic(n: int, prefix: str = "F") -> list[dict[str, Any]]:
    sev = ("critical", "high", "medium", "low", "info")
    return [{"id": f"{prefix}-{i}", "check_id": f"CHK-{i % 7}", "title": f"finding {i}", "severity": sev[i % 5],
             "asset_id": f"Deployment/ns/app-{i % 13}", "location": f"spec.x[{i}]"} for i in range(n)]


def store(ctx: ServeContext, target: str, items: list[dict[str, Any]]) -> int:
    aid = assessments.create(ctx, target, "upload", "test")
    assessments.store(ctx, aid, target, {"findings": items, "summary": {}})
    return aid


def test_the_list_filters_by_severity_and_text_and_sorts_most_severe_first(
        client: TestClient, shop: int, role_users: dict[str, str]) -> None:
    token = role_users["viewer"]
    every = all_findings(client, token)
    ranks = [findings._rank(f["severity"]) for f in every]
    assert ranks == sorted(ranks, reverse=True) and len(every) > 100
    high = all_findings(client, token, severity="high,critical")
    assert high and {f["severity"] for f in high} == {"high", "critical"}
    assert [f["fid"] for f in high] == [f["fid"] for f in every if f["severity"] in ("high", "critical")]
    redis = all_findings(client, token, q="REDIS")
    assert redis and all("redis" in (f["title"] + f["asset"] + f["check_id"] + f["location"]).lower() for f in redis)
    assert all_findings(client, token, q="100%_") == []  # LIKE wildcards are text, not patterns
    by_asset = all_findings(client, token, sort="asset", limit=7)
    assert [f["asset"] for f in by_asset] == sorted(f["asset"] for f in every)


def test_a_bad_filter_sort_or_cursor_is_a_400_that_names_it(client: TestClient, shop: int,
                                                            role_users: dict[str, str]) -> None:
    h = bearer(role_users["viewer"])
    for params, word in (({"severity": "huge"}, "severity"), ({"status": "gone"}, "status"),
                         ({"sort": "secret"}, "sort"), ({"cursor": "!!!"}, "cursor"), ({"limit": 0}, "limit"),
                         ({"triage": "maybe"}, "triage")):
        r = client.get("/v1/findings", headers=h, params=params)
        assert r.status_code == 400 and word in r.json()["error"]["message"], params
    page = client.get("/v1/findings", headers=h, params={"limit": 5}).json()
    r = client.get("/v1/findings", headers=h, params={"limit": 5, "cursor": page["next"], "sort": "asset"})
    assert r.status_code == 400 and "sort" in r.json()["error"]["message"]


def test_pages_neither_repeat_nor_skip_a_finding_while_findings_are_added_between_them(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    h = bearer(role_users["viewer"])
    store(serve_ctx, "a", synthetic(300))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 40, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/findings", headers=h, params=params).json()
        seen += [f["fid"] for f in body["items"]]
        pages += 1
        if pages == 3:  # another target's findings arrive while the reader is on page 3
            store(serve_ctx, "b", synthetic(200, "G"))
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    original = {f["fid"] for f in all_findings(client, role_users["viewer"], target="a")}
    assert original <= set(seen)  # none of the rows there all along was skipped


def test_suppressing_needs_a_reason_and_is_an_audit_record_with_actor_reason_and_expiry(
        client: TestClient, serve_ctx: ServeContext, shop: int, role_users: dict[str, str]) -> None:
    fid = all_findings(client, role_users["viewer"], severity="critical")[0]["fid"]
    h = bearer(role_users["analyst"])
    assert client.post(f"/v1/findings/{fid}/suppress", headers=h, json={"reason": ""}).status_code == 422
    until = time.time() + 86400
    r = client.post(f"/v1/findings/{fid}/suppress", headers=h, json={"reason": "compensating WAF rule", "until": until})
    assert r.status_code == 200 and r.json()["triage"] == "suppressed"
    entry = serve_ctx.iam.audit_entries(limit=1)[0]
    assert (entry.event, entry.actor, entry.subject) == ("finding-suppress", "analyst", fid)
    assert entry.detail["reason"] == "compensating WAF rule" and entry.detail["until"] == until
    assert entry.detail["target"] == "shop" and entry.detail["check_id"]
    assert fid not in {f["fid"] for f in all_findings(client, role_users["viewer"], triage="open")}
    client.post(f"/v1/findings/{fid}/unsuppress", headers=h)
    assert serve_ctx.iam.audit_entries(limit=1)[0].event == "finding-unsuppress"
    assert serve_ctx.iam.verify_audit_chain().intact


def test_a_suppression_past_its_expiry_shows_the_finding_open_again(
        client: TestClient, serve_ctx: ServeContext, shop: int, role_users: dict[str, str]) -> None:
    clock = Clock(time.time())
    serve_ctx.iam.clock = clock
    fid = all_findings(client, role_users["viewer"])[0]["fid"]
    r = client.post(f"/v1/findings/{fid}/suppress", headers=bearer(role_users["analyst"]),
                    json={"reason": "fixed in the next release", "until": "2030-01-01T00:00:00Z"})
    assert r.json()["suppressed_until"] == 1893456000.0
    suppressed = {f["fid"] for f in all_findings(client, role_users["viewer"], triage="suppressed")}
    assert suppressed == {fid}
    clock.t = 1893456000.0 + 1
    token = serve_ctx.tokens.issue("viewer").access_token  # the old one expired with the jump
    assert all_findings(client, token, triage="suppressed") == []
    again = client.get(f"/v1/findings/{fid}", headers=bearer(token)).json()
    assert again["triage"] == "open" and again["suppression_expired"] is True
    past = client.post(f"/v1/findings/{fid}/suppress", headers=bearer(serve_ctx.tokens.issue("analyst").access_token),
                       json={"reason": "x", "until": clock.t - 10})
    assert past.status_code == 400 and "past" in past.json()["error"]["message"]


def test_bulk_triage_changes_all_or_none_with_one_audit_record_per_finding(
        client: TestClient, serve_ctx: ServeContext, shop: int, role_users: dict[str, str]) -> None:
    h = bearer(role_users["analyst"])
    fids = [f["fid"] for f in all_findings(client, role_users["viewer"], severity="medium")][:5]
    before = len(serve_ctx.iam.audit_entries(limit=10_000))
    r = client.post("/v1/findings/triage", headers=h, json={"ids": [*fids, "nope"], "action": "assign",
                                                            "assignee": "responder"})
    assert r.status_code == 404 and "nothing changed" in r.json()["error"]["message"]
    assert all(f["assignee"] is None for f in all_findings(client, role_users["viewer"], severity="medium"))
    r = client.post("/v1/findings/triage", headers=h, json={"ids": fids, "action": "assign", "assignee": "responder"})
    assert r.status_code == 200 and [f["fid"] for f in r.json()["items"]] == fids
    assert {f["fid"] for f in all_findings(client, role_users["viewer"], assignee="responder")} == set(fids)
    entries = serve_ctx.iam.audit_entries(limit=10_000)
    assert len(entries) == before + len(fids)
    assert {(e.event, e.subject, e.detail["assignee"]) for e in entries[-len(fids):]} == \
        {("finding-assign", f, "responder") for f in fids}
    r = client.post("/v1/findings/triage", headers=h, json={"ids": fids, "action": "assign", "assignee": "ghost"})
    assert r.status_code == 400 and "ghost" in r.json()["error"]["message"]


def test_a_comment_is_kept_with_the_finding_and_recorded_without_its_text(
        client: TestClient, serve_ctx: ServeContext, shop: int, role_users: dict[str, str]) -> None:
    fid = all_findings(client, role_users["viewer"])[3]["fid"]
    r = client.post(f"/v1/findings/{fid}/comments", headers=bearer(role_users["analyst"]),
                    json={"text": "ticket SEC-42 opened with the api team"})
    assert r.status_code == 201
    one = client.get(f"/v1/findings/{fid}", headers=bearer(role_users["viewer"])).json()
    said = [(c["author"], c["text"]) for c in one["comments"]]
    assert said == [("analyst", "ticket SEC-42 opened with the api team")]
    entry = serve_ctx.iam.audit_entries(limit=1)[0]
    assert entry.event == "finding-comment" and "SEC-42" not in str(entry.detail)


def test_an_unknown_finding_is_a_404(client: TestClient, shop: int, role_users: dict[str, str]) -> None:
    assert client.get("/v1/findings/000", headers=bearer(role_users["viewer"])).status_code == 404
    r = client.post("/v1/findings/000/suppress", headers=bearer(role_users["analyst"]), json={"reason": "r"})
    assert r.status_code == 404


def test_a_fid_is_stable_per_target_and_fingerprint_and_says_nothing_of_either() -> None:
    fp = findings.fingerprint({"id": "CNSEC-K8S-001:0123456789abcdef"})
    assert findings.make_fid("shop", fp) == findings.make_fid("shop", fp) != findings.make_fid("shop2", fp)
    assert "shop" not in findings.make_fid("shop", fp) and fp[:8] not in findings.make_fid("shop", fp)
