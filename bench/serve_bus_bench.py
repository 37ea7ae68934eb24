"""``cnsec serve --bus``: do ingest requests wait for JetStream side by side, or one after another?

A nats-server (JetStream, file storage in a temp dir) and ``cnsec serve --bus`` (one uvicorn worker)
are started; audit ``EventList`` batches (--events each, Falco's audit traces varied as
bench/serve_bench.py does) are posted over loopback, first by one client one request at a time, then
by --clients clients at once. Every request is answered only after JetStream stored all its messages,
so if publishing serialized requests the concurrent run would be no faster than the sequential one
and each request's latency would grow with the clients; if it does not, throughput rises and the wait
for acknowledgements overlaps. No worker runs: this measures the server's ingest, not detection.

Last line: ``RESULT seq_eps=… conc_eps=… speedup=… seq_p50_ms=… conc_p50_ms=…``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


async def _post_all(url: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    import httpx

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60) as c:
            while not queue.empty():
                body = queue.get_nowait()
                t = time.perf_counter()
                r = await c.post(f"{url}/v1/ingest/k8s-audit", content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40, help="requests per run")
    ap.add_argument("--events", type=int, default=400, help="events per request")
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()

    from tests.serve.ingest.corpus import batches, varied

    from cnsec.iam import passwords
    from cnsec.serve.auth import add_key
    from cnsec.serve.context import ServeContext
    from cnsec.serve.settings import Settings
    from cnsec.serve.startup import prepare

    nats_bin = Path(sys.executable).parent / "nats-server"
    with tempfile.TemporaryDirectory() as tmp:
        nport, sport = _free_port(), _free_port()
        bus = f"nats://127.0.0.1:{nport}"
        nats = subprocess.Popen([str(nats_bin), "-js", "-a", "127.0.0.1", "-p", str(nport), "-sd", f"{tmp}/js"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = f"sqlite:///{tmp}/serve.db"
        ctx = ServeContext.open(Settings(db_url=db), ph=passwords.hasher(memory_kib=64, time_cost=1, parallelism=1))
        prepare(ctx)
        ctx.iam.add_user("webhook", "correct horse battery staple", ["ingest"])
        key, _ = add_key(ctx, "webhook", "bench")
        total = 2 * args.requests * args.events
        bodies = [orjson.dumps(b) for b in batches(varied(total), args.events)]
        _wait_port(nport)
        env = {**os.environ, "CNSEC_DB": db, "CNSEC_BUS": bus, "PYTHONPATH": str(ROOT / "src")}
        server = subprocess.Popen([sys.executable, "-m", "cnsec", "serve", "--port", str(sport)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/serve.log", "wb"))  # noqa: SIM115
        try:
            _wait_port(sport)
            url = f"http://127.0.0.1:{sport}"
            asyncio.run(_post_all(url, key, bodies[:2], 1))  # warm: the reader, the connection
            seq_s, seq_lat = asyncio.run(_post_all(url, key, bodies[2:args.requests], 1))
            conc_s, conc_lat = asyncio.run(_post_all(url, key, bodies[args.requests:], args.clients))
        finally:
            server.terminate()
            server.wait(30)
            nats.terminate()
            nats.wait(30)
    seq_eps = (args.requests - 2) * args.events / seq_s
    conc_eps = args.requests * args.events / conc_s
    res: dict[str, Any] = {
        "seq_eps": round(seq_eps), "conc_eps": round(conc_eps), "speedup": round(conc_eps / seq_eps, 2),
        "seq_p50_ms": round(statistics.median(seq_lat) * 1000, 1),
        "conc_p50_ms": round(statistics.median(conc_lat) * 1000, 1)}
    print(f"{args.requests} requests of {args.events} events; {args.clients} clients in the concurrent run")
    print("RESULT " + " ".join(f"{k}={v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
