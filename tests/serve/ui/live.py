"""A real server for the browser: ``cnsec serve`` in its own process on a free loopback port, over a
temporary SQLite store with one user per built-in role (used by the end-to-end test and
``make screens``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from cnsec.serve.startup import prepare

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery staple"
USERS = ("admin", "viewer", "analyst", "responder", "ingest")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Live:
    base: str
    ctx: ServeContext  # the same store, opened by this process (to seed and to check)
    log: Path

    def token(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ctx.tokens.issue(user).access_token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(folder: Path, ph: object | None = None) -> Iterator[Live]:
    """The server until the block ends; its log (stderr) is in ``folder/serve.log``."""
    url = f"sqlite:///{folder / 'cnsec.db'}"
    ctx = ServeContext.open(Settings(db_url=url), ph=ph)
    prepare(ctx)
    for user in USERS:
        ctx.iam.add_user(user, PASSWORD, [user])
    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cnsec", "serve", "--db", url, "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cnsec serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield Live(base, ctx, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Debian's chromium is not installed at {CHROMIUM} (scripts/install-test-deps.sh installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (the dev extra has it)"
    return None
