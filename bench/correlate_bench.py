"""Correlation throughput: 1,000,000 mixed events and metric samples with 10,000 distinct keys through
the whole bundled threat catalog (``cnsec correlate``), end to end from files to alerts, on one core.

Inputs (generated, seeded): nginx JSON access logs, combined-format access logs, metric samples (JSON
lines), the IAM audit log, application query logs and Kubernetes audit events (through the detection
engine), spread over one day. The run happens in a child process; its peak RSS is reported. A second,
quarter-size run with the same keys shows that memory follows live keys, not events.

Last line: ``RESULT cnsec_eps=<events/s> peak_rss_mb=<MiB> keys=<n>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
T0 = 1_767_225_600
DAY = 86_400
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PAGES = ["/", "/products", "/products/42", "/cart", "/api/items?page=2", "/static/app.js", "/search?q=shoes",
         "/account", "/login", "/help"] + [f"/products/{i}" for i in range(200)]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clf(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return f"{d.day:02d}/{MONTHS[d.month - 1]}/{d.year}:{d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"


BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, "+Inf")


def prometheus_scrapes(path: Path, lines: int, services: list[str], rng: random.Random) -> int:
    """Prometheus text scrapes of every service's request histogram and request counter by status (one
    scrape of all services every so often over the day): what ``--metrics prometheus`` reads instead of
    JSON metric lines. Returns the sample lines written."""
    per_scrape = len(services) * (len(BOUNDS) + 2)
    scrapes = max(2, lines // per_scrape)
    cum = {svc: [0] * len(BOUNDS) for svc in services}
    ok = dict.fromkeys(services, 0)
    bad = dict.fromkeys(services, 0)
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        w = f.write
        for i in range(scrapes):
            ms = int((T0 + i * DAY / scrapes) * 1000)
            for svc in services:
                n = rng.randint(200, 400)
                run = 0
                for j in range(len(BOUNDS)):
                    run += int(n * (0.02, 0.05, 0.1, 0.2, 0.3, 0.2, 0.08, 0.03, 0.01, 0.005, 0.005, 0.0)[j])
                    cum[svc][j] += run if j < len(BOUNDS) - 1 else n
                    w(f'http_request_duration_seconds_bucket{{service="{svc}",le="{BOUNDS[j]}"}} {cum[svc][j]} {ms}\n')
                errors = int(n * 0.002 * rng.random())
                ok[svc] += n - errors
                bad[svc] += errors
                w(f'http_requests_total{{service="{svc}",code="200"}} {ok[svc]} {ms}\n')
                w(f'http_requests_total{{service="{svc}",code="500"}} {bad[svc]} {ms}\n')
                written += len(BOUNDS) + 2
    return written


def generate(out: Path, total: int, keys: int, seed: int = 1, metrics: str = "jsonl") -> dict[str, int]:
    """Write the mix; returns records per file. Keys: ``keys`` client addresses and users in total.
    ``metrics``: the metric samples as JSON lines or as Prometheus histogram and counter scrapes."""
    rng = random.Random(seed)
    ips = [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256 + 1}" for i in range(keys // 2)]
    users = [f"user{i}" for i in range(keys - len(ips) - 20)]
    services = [f"svc{i}" for i in range(20)]
    shares = {"access.json.log": 0.40, "access.combined.log": 0.10, "metrics.jsonl": 0.34, "iam.jsonl": 0.08,
              "queries.jsonl": 0.07, "k8s-audit.jsonl": 0.01}
    counts = {name: int(total * share) for name, share in shares.items()}
    counts["metrics.jsonl"] += total - sum(counts.values())
    if metrics == "prometheus":
        counts["metrics.prom"] = prometheus_scrapes(out / "metrics.prom", counts.pop("metrics.jsonl"), services,
                                                    rng)
    for name, n in counts.items():
        if name == "metrics.prom":
            continue
        times = sorted(T0 + rng.random() * DAY for _ in range(n))
        with open(out / name, "w", encoding="utf-8") as f:
            w = f.write
            for t in times:
                if name == "access.json.log":
                    w(json.dumps({"time_iso8601": iso(t), "remote_addr": rng.choice(ips),
                                  "remote_user": rng.choice(users) if rng.random() < 0.3 else "-",
                                  "request": f"{rng.choice(('GET', 'GET', 'GET', 'POST', 'PUT'))} "
                                             f"{rng.choice(PAGES)} HTTP/1.1",
                                  "status": rng.choice((200, 200, 200, 200, 304, 404, 401)),
                                  "body_bytes_sent": int(rng.lognormvariate(9, 0.6)),
                                  "request_time": round(rng.lognormvariate(-3, 0.3), 3),
                                  "host": rng.choice(services), "http_user_agent": "Mozilla/5.0"}))
                elif name == "access.combined.log":
                    w(f'{rng.choice(ips)} - - [{clf(t)}] "GET {rng.choice(PAGES)} HTTP/1.1" '
                      f'{rng.choice((200, 200, 404))} {int(rng.lognormvariate(9, 0.6))} "-" "Mozilla/5.0"')
                elif name == "metrics.jsonl":
                    metric = rng.choice(("latency_ms", "availability"))
                    value = rng.lognormvariate(4, 0.2) if metric == "latency_ms" else 1.0
                    w(json.dumps({"timestamp": iso(t), "name": metric,
                                  "labels": {"service": rng.choice(services), "instance": "i-1"},
                                  "value": round(value, 3)}))
                elif name == "iam.jsonl":
                    u = rng.choice(users)
                    w(json.dumps({"ts": t, "event": "login", "actor": u, "subject": u,
                                  "source": rng.choice(ips), "outcome": "success" if rng.random() < 0.9
                                  else "failure", "detail": {}}))
                elif name == "queries.jsonl":
                    w(json.dumps({"timestamp": iso(t), "user": rng.choice(users), "db": "orders",
                                  "rows_returned": int(rng.lognormvariate(4, 0.8))}))
                else:
                    u = rng.choice(users)
                    verb, res, code = rng.choice((("get", "pods", 200), ("list", "pods", 200),
                                                  ("get", "secrets", 403), ("get", "secrets", 200),
                                                  ("create", "pods", 201), ("get", "configmaps", 200)))
                    w(json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                                  "auditID": f"a-{t}", "stage": "ResponseComplete", "verb": verb,
                                  "user": {"username": u}, "sourceIPs": [rng.choice(ips)],
                                  "objectRef": {"resource": res, "namespace": "default", "name": "x"},
                                  "responseStatus": {"code": code}, "requestReceivedTimestamp": iso(t),
                                  "stageTimestamp": iso(t + 0.005)}))
                w("\n")
    return counts


def measure(files: list[Path], records: int) -> tuple[float, float, dict[str, object]]:
    """Run ``cnsec correlate`` in a child; (records per CPU second, peak RSS MiB, stats)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run([str(PY), "-m", "cnsec", "correlate", *map(str, files), "-f", "json",
                           "--fail-on", "none"], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"cnsec correlate failed ({proc.returncode}): {proc.stderr[-2000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    doc = json.loads(proc.stdout)
    stats = doc["stats"]
    stats["alerts_by_rule"] = {}
    for a in doc["alerts"]:
        stats["alerts_by_rule"][a["rule_id"]] = stats["alerts_by_rule"].get(a["rule_id"], 0) + 1
    stats["wall_eps"] = records / elapsed
    # one core: records per CPU second of the (single-threaded) child, so a busy machine does not
    # count other processes' time against us; wall-clock throughput is printed beside it
    return records / cpu, max(peak, before) / 1024.0, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--no-scaling", action="store_true", help="skip the quarter-size memory comparison")
    ap.add_argument("--metrics", choices=("jsonl", "prometheus"), default="jsonl",
                    help="metric samples as JSON lines (default) or as Prometheus histogram and request-counter "
                         "scrapes (bucket increases, histogram_quantile, availability by status)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnsec-correlate-bench-") as tmp:
        small_dir, big_dir = Path(tmp, "small"), Path(tmp, "big")
        small_dir.mkdir()
        big_dir.mkdir()
        t = time.perf_counter()
        counts = generate(big_dir, args.events, args.keys, metrics=args.metrics)
        print(f"generated {sum(counts.values()):,} records in {time.perf_counter() - t:.1f} s: {counts}")
        small_rss = None
        if not args.no_scaling:  # first: RUSAGE_CHILDREN keeps the largest child so far
            small = generate(small_dir, args.events // 4, args.keys, seed=2, metrics=args.metrics)
            s_eps, small_rss, _ = measure(sorted(small_dir.iterdir()), sum(small.values()))
            print(f"quarter input ({sum(small.values()):,} records, same keys): {s_eps:,.0f} records/s, "
                  f"peak RSS {small_rss:.0f} MiB")
        print(f"cnsec correlate on one core ({os.cpu_count()} cores on this machine, load average "
              f"{os.getloadavg()[0]:.1f}) ...", flush=True)
        eps, rss, stats = measure(sorted(big_dir.iterdir()), sum(counts.values()))
        print(f"  {eps:,.0f} records/s of CPU ({stats['wall_eps']:,.0f}/s wall clock), peak RSS {rss:.0f} MiB")
        print(f"  live keys {stats['live_keys']:,}, "
              f"evicted {stats['evicted']}, malformed {stats['malformed']}, late {stats['late']}")
        print(f"  alerts by rule: {stats['alerts_by_rule']}")
        if small_rss:
            print(f"  memory for 4x the events with the same keys: x{rss / small_rss:.2f}")
    print(f"RESULT cnsec_eps={eps:.0f} peak_rss_mb={rss:.0f} keys={args.keys}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
