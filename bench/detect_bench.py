"""Detection speed: cnsec vs the Sigma-to-SQLite approach vs the orjson parse floor.

Input: the real Kubernetes audit and CloudTrail samples of ../shared/corpora/detect/logs (Falco's audit
traces, the OTRF breach, Falco's CloudTrail traces, the events of Panther's labelled tests), replicated
to --events lines (default 1,000,000: half audit, half CloudTrail) with ids, timestamps and client IPs
varied per line so nothing can be cached by accident. Rules: every Sigma rule of the corpus (241:
Kubernetes, AWS, GCP, Azure, M365; the Kubernetes and CloudTrail ones apply) plus the bundled pack.

Legs, each pinned to one core (taskset -c 0) and timed end to end in its own process by its CPU time
(user + system, from wait4: the per-core cost, unaffected by other load on a shared machine); cnsec's
sources are byte-compiled first, as pip does for an installed package:
  cnsec   ``cnsec detect k8s.jsonl cloudtrail.jsonl --rules sigma-rules -f jsonl -o alerts.jsonl``
          (start-up, rule loading, reading, matching, alert output; peak RSS also measured at 1/10
          of the events to show memory is flat in the number of events)
  floor   ``for line in file: orjson.loads(line)`` and nothing else
          (cnsec and the floor take turns, --repeat times each (default 5); each reports its median,
          and vs_floor is the median of the per-pair ratios: a slow spell moves both legs of a pair)
  sqlite  pySigma's sqlite backend (installed by this script in bench/.venv-sigma-sqlite): convert the
          rules, load the events into an in-memory SQLite table with COLLATE NOCASE columns (load
          time included), run every query. It is slow to load, so it runs on --sqlite-events
          (default 100,000) and its events/s are measured on that; the ratio compares rates.

Last line: ``RESULT cnsec_eps=<events/s> vs_sqlite=<ratio> vs_floor=<ratio>`` where vs_floor is
cnsec's rate divided by the floor's, the median over the pairs of runs (>= 1/3 is the target: within 3x of the
parse floor).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT / "../shared/corpora/detect").resolve()
OUT = ROOT / "bench" / "out"
SQLITE_VENV = ROOT / "bench" / ".venv-sigma-sqlite"
RULES = CORPUS / "sigma-rules"


# ---------------------------------------------------------------- input
def _samples() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    logs = CORPUS / "logs"
    k8s: list[dict[str, Any]] = []
    ct: list[dict[str, Any]] = []
    for f in sorted((logs / "falco-k8s-audit-traces").glob("*.json")):
        if f.name.startswith("_"):
            continue
        for line in f.read_text().splitlines():
            if line.strip():
                k8s.append(json.loads(line))
    for line in (logs / "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json").open():
        if line.strip():
            ct.append(json.loads(line))
    for f in sorted((logs / "falco-plugin-cloudtrail-traces").glob("*.json")):
        ct.extend(json.loads(f.read_text()).get("Records", []))
    for name, bucket in (("K8s.Audit", k8s), ("AWS.CloudTrail", ct)):
        for line in (logs / f"panther-analysis-tests/{name}.labeled.jsonl").open():
            log = json.loads(line)["log"]
            if isinstance(log, dict):
                bucket.append(log)
    return k8s, ct


def _vary(event: dict[str, Any], i: int) -> bytes:
    import orjson

    e = dict(event)
    uid = f"{i:08x}-0000-4000-8000-{i:012x}"
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1767225600 + i // 10)) + f".{i % 1000:03d}000Z"
    if "auditID" in e or "verb" in e:
        e["auditID"] = uid
        e["stageTimestamp"] = ts
        e["requestReceivedTimestamp"] = ts
        e["sourceIPs"] = [ip]
    else:
        e["eventID"] = uid
        e["requestID"] = uid[:18]
        e["eventTime"] = ts[:19] + "Z"
        src = str(e.get("sourceIPAddress", ""))
        if src[:1].isdigit():
            e["sourceIPAddress"] = ip
    return orjson.dumps(e) + b"\n"


def make_inputs(total: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    k8s, ct = _samples()
    paths = []
    for name, samples, n in (("k8s", k8s, total // 2), ("cloudtrail", ct, total - total // 2)):
        path = OUT / f"detect_{name}_{n}.jsonl"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                buf = []
                for i in range(n):
                    buf.append(_vary(samples[i % len(samples)], i))
                    if len(buf) == 5000:
                        fh.write(b"".join(buf))
                        buf.clear()
                fh.write(b"".join(buf))
            tmp.rename(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- running a leg
def run_pinned(cmd: list[str], **kw: Any) -> tuple[float, int, str]:
    """CPU seconds (user + system), peak RSS (KiB) and stdout of ``cmd`` pinned to core 0.

    CPU time, not wall time, is the per-core cost: on a shared machine the wall clock also counts
    the time other processes held the core. Wall time is printed beside it."""
    start = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=subprocess.PIPE, **kw)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}")
    print(f"  ({Path(cmd[0]).name}: {cpu:.2f}s CPU, {wall:.2f}s wall)")
    return cpu, usage.ru_maxrss, out


def cnsec_leg(paths: list[Path], events: int) -> tuple[float, int, int]:
    alerts = OUT / "detect_alerts.jsonl"
    cmd = [str(ROOT / ".venv/bin/cnsec"), "detect", *map(str, paths), "--rules", str(RULES),
           "-f", "jsonl", "-o", str(alerts), "--fail-on", "none"]
    wall, rss, _ = run_pinned(cmd, stderr=subprocess.DEVNULL)
    n_alerts = sum(1 for _ in alerts.open())
    return events / wall, rss, n_alerts


FLOOR = """
import sys, orjson
loads = orjson.loads
n = 0
for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        for line in fh:
            loads(line)
            n += 1
print(n)
"""


def floor_leg(paths: list[Path], events: int) -> float:
    wall, _, out = run_pinned([str(ROOT / ".venv/bin/python"), "-c", FLOOR, *map(str, paths)])
    assert int(out.strip()) == events
    return events / wall


def ensure_sqlite_venv() -> Path:
    py = SQLITE_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SQLITE_VENV)], check=True)
    probe = subprocess.run([str(py), "-c", "import sigma.backends.sqlite, orjson"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pysigma-backend-sqlite", "orjson"], check=True)
    return py


# ---------------------------------------------------------------- the SQLite leg (runs in its venv)
def sqlite_leg(k8s_path: str, ct_path: str, rules_dir: str) -> None:
    import sqlite3

    import orjson
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection

    t0 = time.process_time()
    backend = sqliteBackend()
    per_table: dict[str, list[tuple[str, str]]] = {"k8s": [], "cloudtrail": []}
    fields: dict[str, set[str]] = {"k8s": set(), "cloudtrail": set()}
    for f in sorted(Path(rules_dir).rglob("*.yml")):
        text = f.read_text()
        table = "k8s" if "product: kubernetes" in text else "cloudtrail" if "service: cloudtrail" in text else None
        if table is None:
            continue
        try:
            collection = SigmaCollection.from_yaml(text)
            queries = backend.convert(collection)
        except Exception:  # noqa: S112 - a rule the backend cannot convert is skipped
            continue
        for rule in collection.rules:
            for det in rule.detection.detections.values():
                for item in det.detection_items:
                    if getattr(item, "field", None):
                        fields[table].add(item.field)
        for q in queries:
            per_table[table].append((f.stem, q))
    convert_s = time.process_time() - t0

    # the Sigma-to-SQLite approach (as Zircolite does it): every event flattened to dotted columns,
    # one table with every column seen (TEXT COLLATE NOCASE: Sigma is case-insensitive), then the
    # backend's queries. Lists are kept as JSON text. Loading is part of the cost.
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    loaded = 0
    t1 = time.process_time()

    def flatten(d: dict[str, Any], prefix: str, out: dict[str, Any]) -> dict[str, Any]:
        for k, v in d.items():
            if isinstance(v, dict) and v:
                flatten(v, f"{prefix}{k}.", out)
            elif isinstance(v, list | dict):
                out[prefix + k] = orjson.dumps(v).decode()
            elif isinstance(v, bool):
                out[prefix + k] = "true" if v else "false"
            else:
                out[prefix + k] = v
        return out
    for table, path in (("k8s", k8s_path), ("cloudtrail", ct_path)):
        rows_flat = []
        # SQLite column names are case-insensitive: one column per lower-cased name
        cols_seen: dict[str, str] = {c.lower(): c for c in sorted(fields[table])}
        with open(path, "rb") as fh:
            for line in fh:
                row = {k.lower(): v for k, v in flatten(orjson.loads(line), "", {}).items()}
                for k in row:
                    if k not in cols_seen:
                        cols_seen[k] = k
                rows_flat.append(row)
                loaded += 1
        cols = list(cols_seen)
        db.execute(f"CREATE TABLE {table} ({', '.join(f'`{c}` TEXT COLLATE NOCASE' for c in cols)})")
        sql = f"INSERT INTO {table} VALUES ({', '.join('?' for _ in cols)})"  # noqa: S608 - our columns
        db.executemany(sql, ([row.get(c) for c in cols] for row in rows_flat))  # cols are lower-case
        del rows_flat
    db.commit()
    load_s = time.process_time() - t1
    t2 = time.process_time()
    matches = 0
    failed = 0
    for table, queries in per_table.items():
        for _name, q in queries:
            try:
                matches += len(db.execute(q.replace("FROM logs", f"FROM {table}")).fetchall())
            except sqlite3.Error:
                failed += 1
    query_s = time.process_time() - t2
    print(json.dumps({"events": loaded, "convert_s": convert_s, "load_s": load_s, "query_s": query_s,
                      "queries": sum(len(v) for v in per_table.values()), "failed_queries": failed,
                      "matches": matches}))


# ---------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--sqlite-events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of the cnsec and floor legs (median taken)")
    ap.add_argument("--sqlite-leg", nargs=3, metavar=("K8S", "CT", "RULES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sqlite_leg:
        sqlite_leg(*args.sqlite_leg)
        return 0
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    from _common import compile_sources

    compile_sources()  # cnsec runs from bytecode, as installed by pip (see _common.compile_sources)
    t = time.perf_counter()
    paths = make_inputs(args.events)
    small = make_inputs(args.events // 10)
    sq = make_inputs(args.sqlite_events)
    print(f"inputs ready in {time.perf_counter() - t:.1f}s: {', '.join(p.name for p in paths)}")

    # cnsec and the floor take turns, --repeat times each: each reports its median, and vs_floor is the
    # median of the ratios of the runs taken side by side (a slow spell of the shared machine, which
    # moves both legs of a pair, then moves neither figure)
    runs: list[tuple[float, int, int]] = []
    floors: list[float] = []
    for _ in range(max(1, args.repeat)):
        runs.append(cnsec_leg(paths, args.events))
        floors.append(floor_leg(paths, args.events))
    eps, rss, n_alerts = sorted(runs)[len(runs) // 2]
    floor = sorted(floors)[len(floors) // 2]
    pair_ratios = sorted(r[0] / f for r, f in zip(runs, floors, strict=True))
    vs_floor = pair_ratios[len(pair_ratios) // 2]
    print(f"pairs   : cnsec/floor per pair of runs {', '.join(f'{x:.3f}' for x in pair_ratios)} "
          f"(median {vs_floor:.3f}; ratio of the medians {eps / floor:.3f})")
    print(f"cnsec   : {eps:,.0f} events/s on one core, end to end ({args.events:,} events, {n_alerts} alerts), "
          f"peak RSS {rss / 1024:.0f} MiB (median of {len(runs)}: {', '.join(f'{r[0]:,.0f}' for r in runs)})")
    eps_small, rss_small, _ = cnsec_leg(small, args.events // 10)
    print(f"cnsec   : {eps_small:,.0f} events/s at {args.events // 10:,} events, peak RSS {rss_small / 1024:.0f} MiB "
          f"(memory flat: {rss / max(rss_small, 1):.2f}x for 10x the events)")
    print(f"floor   : {floor:,.0f} events/s (orjson.loads of every line, nothing else; median of "
          f"{len(floors)}: {', '.join(f'{f:,.0f}' for f in floors)})")
    py = ensure_sqlite_venv()
    wall, _, out = run_pinned([str(py), __file__, "--sqlite-leg", str(sq[0]), str(sq[1]), str(RULES)])
    info = json.loads(out.strip().splitlines()[-1])
    sqlite_eps = info["events"] / wall
    eval_eps = info["events"] / max(info["query_s"], 1e-9)
    load_eps = info["events"] / max(info["load_s"], 1e-9)
    print(f"sqlite  : {sqlite_eps:,.0f} events/s end to end on {info['events']:,} events "
          f"(load {load_eps:,.0f}/s, evaluate {eval_eps:,.0f}/s, {info['queries']} queries, "
          f"{info['failed_queries']} failed, {info['matches']} matches; rate measured on the smaller set)")
    print(f"RESULT cnsec_eps={eps:.0f} vs_sqlite={eps / sqlite_eps:.2f} vs_floor={vs_floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
