"""The findings side of ``cnsec serve``: importing a big assessment, and paging findings at 100,000.

* ``import_s`` — storing an assessment of 30,000 findings: the report serialised and gzip-compressed,
  30,000 history rows, 30,000 new finding states (:func:`cnsec.serve.services.assessments.store`, what
  the worker does after the assess engine). ``reimport_s``: the same target again (30,000 unchanged
  findings: the update path). ``floor_s``: serialising and compressing that report alone, the part no
  database can save (the physical floor of one import).
* ``page_p95_ms`` — with 100,000 findings stored (two targets), GET /v1/findings through the real app
  (FastAPI's TestClient: routing, bearer-token check, authorisation, the query, JSON) for a mix of
  what a dashboard asks: the first page, filters (severity, target, triage, text search), every sort,
  and pages deep into the list by cursor. ``page_sql_p95_ms``: the same requests' service call alone.

The findings are real ones (the shop example, assessed once) multiplied with distinct ids and assets,
so row sizes are those of real reports. SQLite in a temporary folder by default; ``--db URL`` for
PostgreSQL. Targets (issue #16): import < 5 s, page p95 < 200 ms.

    .venv/bin/python bench/serve_findings_bench.py [--findings 30000] [--stored 100000] [--db URL]

Last line: ``RESULT import_s=… page_p95_ms=… reimport_s=… import_cpu_s=… floor_s=… page_sql_p95_ms=… load_avg=…``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests' helpers are not part of the package

PASSWORD = "correct horse battery staple"


def real_findings() -> list[dict[str, Any]]:
    from cnsec.assess import assess, find_config
    from cnsec.report.json_report import to_dict

    shop = str(HERE.parent / "examples" / "shop")
    found: list[dict[str, Any]] = to_dict(assess([shop], find_config([shop], None), workers=1))["findings"]
    return found


def scaled(base: list[dict[str, Any]], n: int, tag: str) -> list[dict[str, Any]]:
    """``n`` findings shaped like ``base``, each with its own id and asset (a distinct fingerprint)."""
    out = []
    for i in range(n):
        f = dict(base[i % len(base)])
        f["id"] = f"{f['check_id']}:{tag}{i:012x}"
        f["asset_id"] = f"{f['asset_id']}-{tag}{i // len(base)}"
        out.append(f)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def requests(target: str) -> list[dict[str, Any]]:
    """What a dashboard asks for (each repeated; deep pages are followed by cursor separately)."""
    return [{}, {"severity": "high"}, {"severity": "critical,high", "target": target}, {"target": target},
            {"triage": "open"}, {"status": "all"}, {"q": "privileged"}, {"q": "shop/redis-b7"}, {"assignee": "-"},
            {"sort": "first_seen"}, {"sort": "-first_seen"}, {"sort": "asset"}, {"sort": "-asset", "target": target},
            {"sort": "check", "severity": "medium"}, {"sort": "-check", "status": "all"},
            {"severity": "low", "sort": "asset", "triage": "open"}]


def measure(n_import: int = 30_000, n_stored: int = 100_000, db_url: str | None = None,
            rounds: int = 5, deep_pages: int = 40) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cnsec.serve.app import create_app
    from cnsec.serve.context import ServeContext
    from cnsec.serve.services import assessments, findings
    from cnsec.serve.settings import Settings
    from cnsec.serve.startup import prepare

    tmp = tempfile.mkdtemp(prefix="cnsec-bench-")
    ctx = ServeContext.open(Settings(db_url=db_url or f"sqlite:///{tmp}/serve.db"))
    prepare(ctx)
    ctx.iam.add_user("bench", PASSWORD, ["viewer"])
    base = real_findings()
    doc = {"schema": "cnsec.assessment/v1", "target": "a", "summary": {}, "findings": scaled(base, n_import, "a")}

    import orjson

    started = time.perf_counter()
    gzip.compress(orjson.dumps(doc), assessments.GZIP_LEVEL, mtime=0)
    floor = time.perf_counter() - started
    aid = assessments.create(ctx, "a", "upload", "bench")
    started, cpu = time.perf_counter(), time.process_time()
    summary = assessments.store(ctx, aid, "a", doc)
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert summary["changes"]["new"] == n_import, summary
    aid = assessments.create(ctx, "a", "upload", "bench")
    started = time.perf_counter()
    again = assessments.store(ctx, aid, "a", doc)
    reimport_s = time.perf_counter() - started
    assert again["changes"]["unchanged"] == n_import, again
    rest = n_stored - n_import
    if rest > 0:
        other = {"findings": scaled(base, rest, "b"), "summary": {}}
        assessments.store(ctx, assessments.create(ctx, "b", "upload", "bench"), "b", other)

    token = ctx.tokens.issue("bench").access_token
    headers = {"Authorization": f"Bearer {token}"}
    http: list[float] = []
    sql: list[float] = []
    by_kind: dict[str, list[float]] = {}
    with TestClient(create_app(context=ctx)) as client:
        client.get("/v1/findings", headers=headers)  # warm: imports, first connection
        for _ in range(rounds):
            for params in requests("b"):
                started = time.perf_counter()
                r = client.get("/v1/findings", headers=headers, params=params)
                http.append(time.perf_counter() - started)
                by_kind.setdefault(str(params), []).append(http[-1])
                assert r.status_code == 200 and r.json()["items"], (params, r.text[:200])
                started = time.perf_counter()
                findings.list_findings(ctx, findings.query(**params))
                sql.append(time.perf_counter() - started)
        cursor = None
        for _ in range(deep_pages):  # page after page, deep into the list
            deep: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            r = client.get("/v1/findings", headers=headers, params=deep)
            http.append(time.perf_counter() - started)
            cursor = r.json()["next"]
    return {"import_s": round(import_s, 3), "page_p95_ms": round(percentile(http, 95) * 1000, 1),
            "reimport_s": round(reimport_s, 3), "floor_s": round(floor, 3), "import_cpu_s": round(import_cpu, 3),
            "page_sql_p95_ms": round(percentile(sql, 95) * 1000, 1),
            "page_median_ms": round(statistics.median(http) * 1000, 1), "requests": len(http),
            "stored": n_stored, "imported": n_import, "db": ctx.engine.dialect.name,
            "load_avg": round(os.getloadavg()[0], 1),
            "slowest": sorted(((round(statistics.median(v) * 1000, 1), k) for k, v in by_kind.items()),
                              reverse=True)[:4]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=30_000, help="findings in the imported assessment")
    parser.add_argument("--stored", type=int, default=100_000, help="findings stored when pages are measured")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of an empty store (default: SQLite in tmp)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.findings, args.stored, args.db, args.rounds)
    for key, value in result.items():
        print(f"{key:>16}: {value}", file=sys.stderr)
    print(f"RESULT import_s={result['import_s']} page_p95_ms={result['page_p95_ms']} "
          f"reimport_s={result['reimport_s']} import_cpu_s={result['import_cpu_s']} floor_s={result['floor_s']} "
          f"page_sql_p95_ms={result['page_sql_p95_ms']} load_avg={result['load_avg']}")


if __name__ == "__main__":
    main()
