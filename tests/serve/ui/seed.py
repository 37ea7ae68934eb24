"""A store with something to show: real assessments of the bundled example app (``cnsec assess``), the
alerts ``cnsec detect`` gives on the bundled attack afternoon, and a planned response — written by the
services (assessments) or as rows (alerts, a response: their tables are all the pages read); the browser
tests seed through the API instead (:func:`seed_through_api`)."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from cnsec.serve.context import ServeContext
from cnsec.store import schema

ROOT = Path(__file__).resolve().parents[3]


@functools.cache
def assess(path: str) -> dict[str, Any]:
    """The JSON report of ``cnsec assess path`` (run once per test session)."""
    out = subprocess.run([sys.executable, "-m", "cnsec", "assess", path, "-f", "json", "--fail-on", "none"],
                         cwd=ROOT, capture_output=True, check=True, timeout=300)
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def detected_alerts() -> list[dict[str, Any]]:
    """What ``cnsec detect`` gave on examples/attack (committed, checked by tests/cli/test_readme.py)."""
    lines = (ROOT / "examples/attack/detect-alerts.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def store_assessment(ctx: ServeContext, target: str, report: dict[str, Any], by: str = "analyst") -> int:
    """A finished assessment, kept by the assessments service as an upload's would be (its report, its
    findings' history, the target's present states)."""
    from cnsec.serve.services import assessments

    aid = assessments.create(ctx, target, "path", by)
    assessments.store(ctx, aid, target, report)
    return aid


def store_alerts(engine: Engine, alerts: list[dict[str, Any]], stored_at: float) -> list[str]:
    from datetime import datetime

    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    ids = []
    with engine.begin() as conn:
        for al in alerts:
            aid = hashlib.sha256(f"{al['rule_id']}\0{al['key']}\0{al['first_seen']}".encode()).hexdigest()[:32]
            ids.append(aid)
            conn.execute(insert(schema.serve_alerts).values(
                id=aid, rule=al["rule_id"], title=al["title"], severity=al["severity"], key=al["key"],
                first_seen=ts(al["first_seen"]), last_seen=ts(al["last_seen"]), count=al["count"], status="open",
                stored_at=stored_at, updated_at=stored_at, data=json.dumps(al)))
    return ids


def store_response(engine: Engine, alert_id: str, at: float) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(schema.serve_responses).values(
            alert_id=alert_id, action="isolate_pod", params=json.dumps({"namespace": "shop", "pod": "api-0"}),
            status="planned", dry_run="would label pod shop/api-0 quarantine=true and apply a deny-all policy",
            created_by="analyst", created_at=at)).inserted_primary_key[0])


def seed(ctx: ServeContext, now: float) -> dict[str, Any]:
    """Two targets, one assessed twice; thirteen alerts; one planned response."""
    shop, k8s = assess("examples/shop"), assess("examples/shop/k8s")
    ids = [store_assessment(ctx, "examples/shop/k8s", k8s), store_assessment(ctx, "examples/shop", shop),
           store_assessment(ctx, "examples/shop", shop)]
    alerts = store_alerts(ctx.engine, detected_alerts(), now)
    response = store_response(ctx.engine, alerts[0], now)
    return {"assessments": ids, "alerts": alerts, "response": response, "report": shop}


def _wait(what: str, check: Any, timeout: float = 120.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def seed_through_api(live: Any) -> dict[str, Any]:
    """Seed a running server (:class:`tests.serve.ui.live.Live`) as its users would, through the API: an
    analyst uploads examples/shop as a tarball and it is assessed; the attack afternoon's Kubernetes audit
    and CloudTrail records are posted to the ingest with an API key and detected; an analyst plans a
    response (a dry run) to one alert."""
    import io
    import tarfile

    import httpx

    from cnsec.serve.auth import add_key

    analyst = live.token("analyst")
    with httpx.Client(base_url=live.base, timeout=60) as http:
        tgz = io.BytesIO()
        with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
            tar.add(ROOT / "examples/shop", arcname="shop")
        r = http.post("/v1/assessments", headers=analyst, data={"target": "examples/shop"},
                      files={"file": ("shop.tgz", tgz.getvalue(), "application/gzip")})
        assert r.status_code == 202, r.text
        aid = r.json()["id"]

        def finished() -> Any:
            a = http.get(f"/v1/assessments/{aid}", headers=analyst).json()
            return a if a.get("status") in ("done", "failed") else None

        done = _wait("the assessment", finished)
        assert done["status"] == "done", done

        key, _ = add_key(live.ctx, "ingest", "e2e")
        attack = ROOT / "examples/attack"
        audit = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1",  # as the API server's webhook batches
                 "items": [json.loads(line) for line in (attack / "audit.log").read_text().splitlines() if line]}
        posts = [("/v1/ingest/k8s-audit", json.dumps(audit).encode(), "application/json"),
                 ("/v1/ingest/events", (attack / "cloudtrail.jsonl").read_bytes(), "application/x-ndjson")]
        for path, body, kind in posts:
            r = http.post(path, content=body, headers={"Authorization": f"Bearer {key}", "Content-Type": kind})
            assert r.status_code in (200, 202), r.text

        def drained() -> bool:  # a queued batch is deleted in the transaction that stores its alerts
            with live.ctx.engine.connect() as conn:
                return not conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar()

        _wait("the ingest queue to drain", drained)
        alerts = http.get("/v1/alerts?limit=200", headers=analyst).json()["items"]
        assert len(alerts) >= 10, alerts  # both sources detected

        r = http.post("/v1/responses", headers=analyst, json={"alert_id": alerts[0]["id"], "action": "notify",
                                                               "params": {}})
        assert r.status_code == 201, r.text
    return {"assessment": aid, "alerts": alerts, "response": r.json()}
