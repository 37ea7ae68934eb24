"""cnsec serve under load: audit-webhook batches posted over loopback to one server process.

The server (``cnsec serve``, one uvicorn worker, the embedded SQLite store in a temp dir) is started as
the API server would find it; a load generator in this process posts ``EventList`` batches of 400 real
Kubernetes audit events (Falco's audit traces from ../shared/corpora/detect, ids, times and client
addresses varied per event, as bench/detect_bench.py does) from --clients connections for --seconds.
With --rate the clients pace themselves to that many events/s together (the latency a sustained rate
gives); without it they post as fast as the server acknowledges (the most it accepts). While it runs, a
probe posts one event a second with a client address never used before; the time from
its POST to the moment its alert is readable in the store is the alert latency.

Measured: ``ingest_eps`` — events acknowledged per second over the run; ``detect_eps`` — events the
detector was fed per second from the first POST until the queue had drained (what is sustained: when it is
below ingest_eps the queue grew during the run, and ``drain_s`` says how long it took to empty after the
load stopped); ``lost`` — events acknowledged minus events the detector was fed once the queue has
drained (0 is the only right answer); ``alert_p99_ms`` — the probes' 99th percentile; ``rss_mb`` — the
peak resident memory of the server and its detection worker together; and, when
bench/serve_findings_bench.py is present, its ``import_s`` (an assessment of 30,000 findings) and
``page_p95_ms`` (the findings page with 100,000 stored).

Targets (#16): ingest_eps >= 20,000 with lost=0, alert_p99_ms < 1000, rss_mb < 500, import_s < 5,
page_p95_ms < 200. These machines have 2 shared cores: server and load generator share them.

Last line: ``RESULT ingest_eps=… detect_eps=… drain_s=… lost=… alert_p99_ms=… rss_mb=… import_s=… page_p95_ms=…``
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))

from _common import require_corpus  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: the second of every event time in the prebuilt bodies, replaced by the current second as each is posted
_SECOND = b"2000-01-01T00:00:00"


def _bodies(count: int, size: int) -> list[bytes]:
    """Prebuilt EventLists whose event times are ``_SECOND`` + increasing microseconds: the poster writes
    the wall clock's second in (one bytes.replace), so event time moves on with real time, in order
    within a batch, as an API server's does. (Reposting the same times cycle after cycle would leave the
    correlator's reorder buffer a band of records it never releases, a load no real cluster makes.)"""
    from detect_bench import _samples, _vary

    k8s, _ = _samples()
    out = []
    for b in range(count):
        events = []
        for i in range(size):
            n = b * size + i
            e = orjson.loads(_vary(k8s[n % len(k8s)], n))
            ts = (_SECOND + f".{i * 2000:06d}Z".encode()).decode()
            e["stageTimestamp"] = e["requestReceivedTimestamp"] = ts
            events.append(orjson.dumps(e))
        out.append(b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[' + b",".join(events) + b"]}")
    return out


def _now(body: bytes) -> bytes:
    return body.replace(_SECOND, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()).encode())


def _probe_body(n: int) -> tuple[bytes, str]:
    """A user never seen before lists secrets (CNSEC-DET-K8S-024, keyed by user): a fresh alert."""
    ip = f"198.18.{(n >> 8) & 255}.{n & 255}"
    user = f"probe-{n}-{os.getpid()}@bench.example"
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"
    ev = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request", "auditID": f"probe-{n}",
          "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/secrets", "verb": "list",
          "user": {"username": user, "groups": ["system:authenticated"]},
          "sourceIPs": [ip], "objectRef": {"resource": "secrets", "namespace": "default", "apiVersion": "v1"},
          "responseStatus": {"code": 200}, "requestReceivedTimestamp": ts, "stageTimestamp": ts,
          "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}}
    return orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [ev]}), user


def _rss_peak(pid: int, stop: threading.Event, out: list[int]) -> None:
    import psutil

    proc = psutil.Process(pid)
    peak = 0
    while not stop.is_set():  # the server and its detection worker process together
        try:
            total = proc.memory_info().rss
            children = proc.children()
        except psutil.Error:  # the server is gone
            break
        for c in children:
            try:
                total += c.memory_info().rss
            except psutil.Error:  # a child that ended meanwhile (a worker restarting): the others count
                continue
        peak = max(peak, total)
        stop.wait(0.2)
    out.append(peak)


def run(seconds: float, clients: int, rate: float = 0.0, server_args: tuple[str, ...] = ()) -> dict[str, Any]:
    import httpx
    from sqlalchemy import create_engine, func, select, text

    from cnsec.iam import passwords
    from cnsec.serve.auth import add_key
    from cnsec.serve.context import ServeContext
    from cnsec.serve.settings import Settings
    from cnsec.serve.startup import prepare
    from cnsec.store import schema

    require_corpus("detect/logs")
    tmp = Path(tempfile.mkdtemp(prefix="cnsec-serve-bench-"))
    url = f"sqlite:///{tmp / 'serve.db'}"
    ctx = ServeContext.open(Settings(db_url=url), ph=passwords.hasher(memory_kib=64, time_cost=1, parallelism=1))
    prepare(ctx)
    ctx.iam.add_user("webhook", "a long bench passphrase", ["ingest"])
    ctx.iam.add_user("probe", "a long bench passphrase", ["ingest", "viewer"])
    key, _ = add_key(ctx, "webhook", "bench")
    ctx.engine.dispose()
    bodies = _bodies(40, 400)
    port = _free_port()
    env = {**os.environ, "CNSEC_DB": url}
    server = subprocess.Popen([sys.executable, "-m", "cnsec", "serve", "--port", str(port), *server_args], env=env,
                              stdout=subprocess.DEVNULL, stderr=(tmp / "serve.log").open("wb"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_rss = threading.Event()
    rss: list[int] = []
    threading.Thread(target=_rss_peak, args=(server.pid, stop_rss, rss), daemon=True).start()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    acked = [0] * clients
    refused = [0] * clients
    end = time.monotonic() + seconds

    def client(n: int) -> None:
        gap = clients * 400 / rate if rate else 0.0  # seconds between this client's batches at --rate
        due = time.monotonic()
        with httpx.Client(timeout=30) as c:
            i = n
            while time.monotonic() < end:
                if gap:
                    due += gap
                    time.sleep(max(0.0, due - time.monotonic()))
                r = c.post(f"{base}/v1/ingest/k8s-audit", content=_now(bodies[i % len(bodies)]), headers=headers)
                if r.status_code == 200:
                    acked[n] += r.json()["accepted"]
                else:
                    refused[n] += 1
                    time.sleep(float(r.headers.get("retry-after", "0.5")))
                i += clients

    engine = create_engine(url)
    latencies: list[float] = []

    def probe() -> None:
        n = 0
        with httpx.Client(timeout=30) as c:
            while time.monotonic() < end - 1:
                body, user = _probe_body(n)
                t0 = time.monotonic()
                r = c.post(f"{base}/v1/ingest/k8s-audit", content=body, headers=headers)
                if r.status_code == 200:
                    acked.append(1)
                    while time.monotonic() - t0 < 10:
                        with engine.connect() as conn:
                            hit = conn.execute(select(schema.serve_alerts.c.id)
                                               .where(schema.serve_alerts.c.key == f"user={user}").limit(1)).first()
                        if hit:
                            latencies.append(time.monotonic() - t0)
                            break
                        time.sleep(0.01)
                n += 1
                time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=probe))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    total_acked = sum(acked)
    # drain: the queue empties once the detector has been fed everything and checkpointed
    deadline = time.monotonic() + 600
    fed = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            queued = conn.execute(select(func.count()).select_from(schema.serve_ingest_queue)).scalar()
            row = conn.execute(select(schema.serve_detector_state.c.events)).first()
        fed = int(row.events) if row else 0
        if queued == 0 and fed >= total_acked:
            break
        time.sleep(0.5)
    drain_s = time.monotonic() - started - elapsed
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    stop_rss.set()
    with engine.connect() as conn:
        alerts = conn.execute(text("SELECT count(*) FROM serve_alerts")).scalar()
    engine.dispose()
    lat = sorted(latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    return {"ingest_eps": (sum(acked[:clients])) / elapsed, "detect_eps": fed / (elapsed + drain_s),
            "acked": total_acked, "fed": fed,
            "lost": total_acked - fed, "alert_p99_ms": p99, "alert_p50_ms": statistics.median(lat) * 1000 if lat else
            float("nan"), "probes": len(lat), "rss_mb": (rss[0] if rss else 0) / 2**20, "drain_s": drain_s,
            "refused": sum(refused), "alerts": alerts, "seconds": elapsed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=4, help="concurrent posting connections")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="events/s the clients post together (0: as fast as the server acknowledges)")
    ap.add_argument("--server-args", default="", help="more `cnsec serve` options, e.g. '--no-threats'")
    ap.add_argument("--runs", type=int, default=1, help="runs; the median of each figure is reported")
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        r = run(args.seconds, args.clients, args.rate, tuple(args.server_args.split()))
        print(f"run {i + 1}: " + " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in r.items()), file=sys.stderr)
        runs.append(r)

    def med(k: str) -> float:
        return statistics.median(r[k] for r in runs)

    extra = {"import_s": "n/a", "page_p95_ms": "n/a"}
    if (BENCH / "serve_findings_bench.py").exists():
        import serve_findings_bench  # written beside this file (#16, findings part)

        got = serve_findings_bench.measure()
        extra = {k: f"{float(got[k]):.2f}" for k in extra if k in got} | {k: v for k, v in extra.items()
                                                                           if k not in got}
    print(f"RESULT ingest_eps={med('ingest_eps'):.0f} detect_eps={med('detect_eps'):.0f} "
          f"drain_s={med('drain_s'):.1f} lost={max(r['lost'] for r in runs)} "
          f"alert_p99_ms={med('alert_p99_ms'):.0f} rss_mb={med('rss_mb'):.0f} "
          f"import_s={extra['import_s']} page_p95_ms={extra['page_p95_ms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
