"""The database failing: unreachable at start is one clear line and exit 2; lost while serving is a
JSON 503 with Retry-After on every request that needs it and a failing /readyz, and the server is
itself again as soon as the database answers, with nothing restarted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import exc as sa

from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.errors import database_unreachable
from tests.serve.conftest import bearer
from tests.serve.live import serving

REPO = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there now


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "cnsec", "serve", "--port", str(_closed_port()), *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize(("make_url", "says"), [
    (lambda tmp: f"postgresql://cnsec:pw-not-to-print@127.0.0.1:{_closed_port()}/cnsec", "Connection refused"),
    (lambda tmp: "sqlite:////proc/cnsec-not-here/cnsec.db", "cannot create the database file"),
    (lambda tmp: f"sqlite:///{tmp}", "unable to open database file"),  # a directory
    (lambda tmp: f"sqlite:///{_garbage(tmp)}", "file is not a database"),
], ids=["postgresql-closed-port", "sqlite-unwritable-path", "sqlite-path-is-a-directory", "sqlite-not-a-database"])
def test_a_database_unreachable_at_start_is_one_clear_line_and_exit_2(
        tmp_path: Path, make_url: object, says: str) -> None:
    out = _serve("--db", make_url(tmp_path))  # type: ignore[operator]
    assert out.returncode == 2, out.stderr
    assert says in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""
    assert "pw-not-to-print" not in out.stderr


def test_the_store_url_can_come_from_a_mounted_secret_file(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    url_file.write_text(f"postgresql://cnsec:pw-not-to-print@127.0.0.1:{_closed_port()}/cnsec\n")
    out = _serve("--db-file", str(url_file))
    assert out.returncode == 2 and "Connection refused" in out.stderr and "pw-not-to-print" not in out.stderr
    url_file.write_text("\n")
    out = _serve("--db-file", str(url_file))
    assert out.returncode == 2 and "the file is empty" in out.stderr
    out = _serve("--db-file", str(url_file), "--db", "sqlite://")
    assert out.returncode == 2 and "give one" in out.stderr


def test_a_port_in_use_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        out = subprocess.run([sys.executable, "-m", "cnsec", "serve", "--db", f"sqlite:///{tmp_path / 's.db'}",
                              "--port", str(port)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 2
    assert out.stderr.strip() == f"cnsec: cannot listen on 127.0.0.1:{port}: Address already in use"


def _garbage(tmp: Path) -> Path:
    path = tmp / "garbage.db"
    path.write_bytes(bytes(range(256)) * 20)
    return path


#: Another process holding the SQLite database: in WAL mode (what the server sets) every lock of the
#: wal-index (write, checkpoint, recovery and the five read marks: 8 bytes at offset 120 of the -shm
#: file, SQLite's unix VFS layout), so no reader or writer gets in; in rollback-journal mode an
#: exclusive transaction. It prints "held" once it holds them and lets go when its stdin closes.
HOLDER = r"""
import fcntl, os, sqlite3, sys, time
path = sys.argv[1]
mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
if mode == "wal":
    fd = os.open(path + "-shm", os.O_RDWR)
    deadline = time.monotonic() + 30
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
            break
        except OSError:  # a reader or writer of the server is in a transaction: wait for its end
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
else:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("BEGIN EXCLUSIVE")
print("held", mode, flush=True)
sys.stdin.read()
"""


@contextmanager
def database_held(path: str) -> Iterator[str]:
    """The database held by another process (a stuck writer, a backup tool, a shell left in a
    transaction) until the block ends; the journal mode it found."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdin is not None
    try:
        line = holder.stdout.readline().split()
        assert line[:1] == ["held"], "the lock holder did not get the locks"
        yield line[1]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_database_lost_while_serving_gives_503_with_retry_after_and_the_server_recovers_by_itself(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    if serve_ctx.engine.dialect.name != "sqlite":
        pytest.skip("the fault is made with SQLite's file locks")
    admin = bearer(role_users["admin"])
    with serving(create_app(context=serve_ctx), serve_ctx.settings) as base, httpx.Client(base_url=base) as c:
        assert c.get("/readyz").status_code == 200
        assert c.get("/v1/session", headers=admin).status_code == 200
        with database_held(str(serve_ctx.engine.url.database)) as mode, ThreadPoolExecutor(2) as pool:
            # both at once: each waits out SQLite's own retries (5 to 10 s) before giving up
            answers = list(pool.map(lambda args: httpx.get(base + args[0], headers=args[1], timeout=60),
                                    [("/readyz", {}), ("/v1/session", admin)]))
            alive = c.get("/healthz").status_code
        for r in answers:
            assert r.status_code == 503, (mode, r.status_code, r.text)
            assert r.headers["retry-after"] == "5" and r.json()["error"]["code"] == "unavailable"
            assert r.headers["x-frame-options"] == "DENY"
        assert alive == 200  # the process is alive: a restart would not help
        assert c.get("/readyz").status_code == 200
        assert c.get("/v1/session", headers=admin).json()["username"] == "admin"


@pytest.mark.parametrize(("error", "unreachable"), [
    (sa.OperationalError("SELECT 1", {}, Exception("connection refused")), True),
    (sa.InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
    (sa.TimeoutError("QueuePool limit reached"), True),
    (sa.DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True), True),
    (sa.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), False),
    (sa.ProgrammingError("SELEC", {}, Exception("syntax error")), False),
])
def test_only_errors_that_mean_not_reachable_become_503(error: Exception, unreachable: bool) -> None:
    assert database_unreachable(error) is unreachable


class CuttableProxy:
    """A TCP proxy on loopback in front of PostgreSQL that can be cut: every open connection is reset and
    new ones are refused (the database restarted, the network partitioned), then mended."""

    def __init__(self, target: tuple[str, int]) -> None:
        import threading

        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.up = True
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()  # refused while cut
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.open:
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def mend(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_postgresql_lost_while_serving_gives_503_and_the_server_recovers_when_it_is_back(
        db_url: str, fast_ph: object) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL leg (SQLite's is the file-lock test above)")
    from sqlalchemy.engine import make_url

    from cnsec.serve.settings import Settings
    from cnsec.serve.startup import prepare

    real = make_url(db_url)
    proxy = CuttableProxy((real.host or "127.0.0.1", int(real.port or 5432)))
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    ctx = ServeContext.open(Settings(db_url=url, ingest_worker="thread"), ph=fast_ph)
    try:
        prepare(ctx)
        ctx.iam.add_user("admin", "a long enough test passphrase", ["admin"])
        admin = bearer(ctx.tokens.issue("admin").access_token)
        with serving(create_app(context=ctx), ctx.settings) as base, httpx.Client(base_url=base, timeout=60) as c:
            assert c.get("/readyz").status_code == 200
            assert c.get("/v1/session", headers=admin).status_code == 200
            proxy.cut()
            for path, headers in (("/readyz", {}), ("/v1/session", admin), ("/v1/alerts", admin)):
                r = c.get(path, headers=headers)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["retry-after"] == "5" and r.json()["error"]["code"] == "unavailable"
            assert c.get("/healthz").status_code == 200  # alive: a restart would not help
            proxy.mend()
            deadline = time.monotonic() + 30
            while c.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "the server did not recover by itself"
                time.sleep(0.2)
            assert c.get("/v1/session", headers=admin).json()["username"] == "admin"
            assert c.get("/v1/alerts", headers=admin).status_code == 200
    finally:
        ctx.engine.dispose()
        proxy.close()
