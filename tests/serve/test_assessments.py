"""Assessments over the API: uploads and server paths run the assess pillar, and the findings of a target
keep their history across runs by fingerprint (new, unchanged, fixed, reopened)."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.services import assessments, findings
from cnsec.serve.settings import Settings
from tests.serve.conftest import bearer
from tests.serve.resources import EXAMPLES, all_findings, tarball, upload


def _shop(tmp_path: Path) -> Path:
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", copy)
    return copy


def test_three_assessments_of_the_shop_show_findings_new_then_fixed_then_reopened_by_fingerprint(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    token = role_users["analyst"]
    shop = _shop(tmp_path)
    first = upload(client, serve_ctx, token, tarball(shop, "shop-1.0"))
    everything = all_findings(client, token, status="all", limit=37)
    assert first["summary"]["changes"]["new"] == len(everything) > 100
    assert {f["status"] for f in everything} == {"new"}
    report = client.get(f"/v1/assessments/{first['id']}/report", headers=bearer(token)).json()
    redis = {findings.make_fid("shop", findings.fingerprint(f)) for f in report["findings"]
             if f["source"]["file"] == "k8s/redis.yaml"}
    assert len(redis) > 5 and redis < {f["fid"] for f in everything}

    # redis goes away; api.yaml gains lines at the top, so every line number below them moves
    redis_yaml = (shop / "k8s" / "redis.yaml").read_text()
    (shop / "k8s" / "redis.yaml").unlink()
    api = shop / "k8s" / "api.yaml"
    api.write_text("# owned by the api team\n# reviewed 2026-12\n\n" + api.read_text())
    second = upload(client, serve_ctx, token, tarball(shop, "shop-1.1"))
    changes = second["summary"]["changes"]
    assert changes["new"] == 0 and changes["fixed"] == len(redis)
    now = {f["fid"]: f["status"] for f in all_findings(client, token, status="all")}
    assert {now[fid] for fid in redis} == {"fixed"}
    assert {s for fid, s in now.items() if fid not in redis} == {"unchanged"}
    assert not redis & {f["fid"] for f in all_findings(client, token)}  # the default list: present only

    (shop / "k8s" / "redis.yaml").write_text(redis_yaml)
    third = upload(client, serve_ctx, token, tarball(shop, "shop-1.2"))
    assert third["summary"]["changes"]["reopened"] == len(redis) and third["summary"]["changes"]["new"] == 0
    one = client.get(f"/v1/findings/{sorted(redis)[0]}", headers=bearer(token)).json()
    assert [h["change"] for h in one["history"]] == ["new", "fixed", "reopened"]
    assert one["finding"]["source"]["file"] == "k8s/redis.yaml"  # no temporary folder in stored paths


def test_another_target_has_its_own_history(client: TestClient, serve_ctx: ServeContext,
                                            role_users: dict[str, str]) -> None:
    token = role_users["admin"]
    data = tarball(EXAMPLES / "shop")
    upload(client, serve_ctx, token, data, target="shop-prod")
    second = upload(client, serve_ctx, token, data, target="shop-staging")
    assert second["summary"]["changes"]["unchanged"] == 0 and second["summary"]["changes"]["new"] > 100
    prod = all_findings(client, token, target="shop-prod")
    staging = all_findings(client, token, target="shop-staging")
    assert len(prod) == len(staging) and not {f["fid"] for f in prod} & {f["fid"] for f in staging}


def test_the_stored_report_risks_and_plan_are_those_of_cnsec_assess(
        client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    token = role_users["viewer"]
    done = upload(client, serve_ctx, role_users["analyst"], tarball(EXAMPLES / "shop"))
    report = client.get(f"/v1/assessments/{done['id']}/report", headers=bearer(token)).json()
    assert report["schema"] == "cnsec.assessment/v1" and report["target"] == "shop"
    assert len(report["findings"]) == done["summary"]["changes"]["findings"]
    risks = client.get(f"/v1/assessments/{done['id']}/risks", headers=bearer(token)).json()
    plan = client.get(f"/v1/assessments/{done['id']}/plan", headers=bearer(token)).json()
    assert risks["items"] == report["risks"] and plan["items"] == report["plan"] and plan["items"]
    raw = client.get(f"/v1/assessments/{done['id']}/report", headers={**bearer(token), "Accept-Encoding": "gzip"})
    assert json.loads(raw.content) == report  # decoded by the client from Content-Encoding: gzip
    assert raw.headers["content-encoding"] == "gzip"
    listed = client.get("/v1/assessments", headers=bearer(token)).json()
    assert [a["id"] for a in listed["items"]] == [done["id"]] and listed["next"] is None


def test_a_server_path_is_assessed_only_under_a_configured_root(
        serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    token = role_users["analyst"]
    shop = _shop(tmp_path)
    with TestClient(create_app(context=serve_ctx)) as c:
        r = c.post("/v1/assessments", headers=bearer(token), json={"target": "shop", "path": str(shop)})
        assert r.status_code == 403 and "assess_roots" in r.json()["error"]["message"]
    rooted = ServeContext(Settings(db_url=serve_ctx.settings.db_url, assess_roots=(str(tmp_path),)),
                          serve_ctx.engine, serve_ctx.iam, serve_ctx.tokens)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "escape").symlink_to(outside)
    with TestClient(create_app(context=rooted)) as c:
        for path in ("/etc", str(tmp_path / ".." / tmp_path.name / ".." / outside.name), str(tmp_path / "escape")):
            r = c.post("/v1/assessments", headers=bearer(token), json={"target": "x", "path": path})
            assert r.status_code == 403, path
        r = c.post("/v1/assessments", headers=bearer(token), json={"target": "shop", "path": str(shop)})
        assert r.status_code == 202
        done = assessments.wait(rooted, r.json()["id"])
    assert done["status"] == "done" and done["source"] == "path" and done["summary"]["changes"]["new"] > 100


def test_a_failed_assessment_says_why_and_keeps_no_report(serve_ctx: ServeContext, tmp_path: Path) -> None:
    (tmp_path / ".cnsec.yaml").write_text("checks: [unclosed\n")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n")
    aid = assessments.create(serve_ctx, "broken", "path", "test")
    assessments.run(serve_ctx, aid, "broken", str(tmp_path))
    done = assessments.get(serve_ctx, aid)
    assert done["status"] == "failed" and ".cnsec.yaml" in done["error"] and str(tmp_path) not in done["error"]


def test_an_assessment_left_running_by_a_stopped_server_is_failed_at_the_next_start(
        serve_ctx: ServeContext) -> None:
    aid = assessments.create(serve_ctx, "shop", "upload", "test")
    with TestClient(create_app(context=serve_ctx)):
        pass
    assert assessments.get(serve_ctx, aid)["status"] == "failed"


def test_the_stored_report_is_compressed(serve_ctx: ServeContext) -> None:
    aid = assessments.create(serve_ctx, "t", "upload", "test")
    doc = {"schema": "cnsec.assessment/v1", "findings": [], "summary": {}, "padding": "x" * 100_000}
    assessments.store(serve_ctx, aid, "t", doc)
    stored = assessments.report_gz(serve_ctx, aid)
    assert len(stored) < 2000 and json.loads(gzip.decompress(stored))["padding"] == doc["padding"]


def test_two_imports_of_one_target_at_once_are_serialised_by_the_database(serve_ctx: ServeContext) -> None:
    """Not only by the server's own lock: two processes (here two threads calling the store directly,
    each on its own connection) importing the same target must see each other's states."""
    items = [{"id": f"CHK-1:{i:016x}", "check_id": "CHK-1", "title": "t", "severity": "high",
              "asset_id": f"Pod/ns/p{i}", "location": ""} for i in range(2000)]
    ids = [assessments.create(serve_ctx, "same", "upload", "test") for _ in range(2)]
    results: dict[int, dict[str, object]] = {}

    def one(aid: int) -> None:
        results[aid] = assessments.store(serve_ctx, aid, "same", {"findings": items, "summary": {}})

    threads = [threading.Thread(target=one, args=(aid,)) for aid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = sorted((r["changes"]["new"], r["changes"]["unchanged"]) for r in results.values())  # type: ignore[index]
    assert changes == [(0, 2000), (2000, 0)]


def test_cnsec_serve_takes_the_folders_it_may_assess_from_assess_root() -> None:
    from cnsec.cli import build_parser
    from cnsec.serve.cli import _settings

    args = build_parser("serve").parse_args(["serve", "--assess-root", "/srv/repos", "--assess-root", "/srv/charts"])
    assert _settings(args).assess_roots == ("/srv/repos", "/srv/charts")
    assert _settings(build_parser("serve").parse_args(["serve"])).assess_roots == ()
