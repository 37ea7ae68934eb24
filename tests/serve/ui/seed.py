"""A store with something to show: real assessments of the bundled example app (``cnsec assess``), the
alerts ``cnsec detect`` gives on the bundled attack afternoon, and a planned response."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from cnsec.store import schema

ROOT = Path(__file__).resolve().parents[3]
RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
DAY = 86400.0


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


def store_assessment(engine: Engine, target: str, report: dict[str, Any], at: float, by: str = "analyst",
                     states: bool = True) -> int:
    """The rows an import would write: the assessment with its report, each finding's present state
    (``states`` False: a later assessment that found the same)."""
    a, s = schema.serve_assessments, schema.serve_finding_states
    summary = {"findings": len(report["findings"]), "by_severity": report["summary"]["by_severity"]}
    with engine.begin() as conn:
        aid = int(conn.execute(insert(a).values(
            target=target, source="path", status="done", created_at=at - 5, created_by=by, finished_at=at,
            summary=json.dumps(summary), report=gzip.compress(orjson.dumps(report)))).inserted_primary_key[0])
        rows = []
        for f in report["findings"]:
            fp = hashlib.sha256(f["id"].encode()).hexdigest()
            row = {"target": target, "fingerprint": fp, "check_id": f["check_id"], "severity": f["severity"],
                   "title": f["title"], "asset": f["asset_id"], "location": f.get("location") or "",
                   "status": "new", "first_seen": at, "last_seen": at, "last_assessment_id": aid,
                   "triage": "suppressed" if f.get("suppressed") else "open",
                   "suppress_reason": f.get("suppression_reason"),
                   "fid": hashlib.sha256(f"{target}\0{fp}".encode()).hexdigest()[:24],
                   "rank": RANK.get(f["severity"], 0)}
            rows.append({k: v for k, v in row.items() if k in s.c})
        if states:
            conn.execute(insert(s), rows)
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


def seed(engine: Engine, now: float) -> dict[str, Any]:
    """Two targets assessed twice each over a week, thirteen alerts, one planned response."""
    shop, k8s = assess("examples/shop"), assess("examples/shop/k8s")
    ids = [store_assessment(engine, "examples/shop/k8s", k8s, now - 6 * DAY),
           store_assessment(engine, "examples/shop", shop, now - 3 * DAY),
           store_assessment(engine, "examples/shop", shop, now - DAY, states=False)]
    alerts = store_alerts(engine, detected_alerts(), now)
    response = store_response(engine, alerts[0], now)
    return {"assessments": ids, "alerts": alerts, "response": response, "report": shop}


def seed_through_api(live: Any) -> dict[str, Any]:
    """Seed a running server (:class:`tests.serve.ui.live.Live`). Until the API's resources exist this
    writes the rows directly; then it goes through the API."""
    import time

    return seed(live.ctx.engine, time.time())
