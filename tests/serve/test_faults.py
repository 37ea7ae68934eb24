"""The database failing: unreachable at start is one clear line and exit 2; lost while serving is a
JSON 503 with Retry-After on every request that needs it and a failing /readyz, and the server is
itself again as soon as the database answers, with nothing restarted."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa

from cnsec.serve.context import ServeContext
from cnsec.serve.errors import database_unreachable
from tests.serve.conftest import bearer

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


@contextmanager
def database_held(path: str) -> Iterator[None]:
    """Another process's exclusive lock on the SQLite file (a backup tool, a stuck migration): the
    server can neither read nor write it until the lock goes."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_database_lost_while_serving_gives_503_with_retry_after_and_the_server_recovers_by_itself(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    if serve_ctx.engine.dialect.name != "sqlite":
        pytest.skip("the fault is made with SQLite's file lock")
    # the fault is another process's exclusive lock, which only the rollback journal honours for
    # readers (under WAL, readers go on while a writer holds the file): the server without WAL
    from dataclasses import replace

    from cnsec.serve.app import create_app

    ctx = ServeContext(replace(serve_ctx.settings, sqlite_wal=False), serve_ctx.engine, serve_ctx.iam,
                       serve_ctx.tokens)
    with TestClient(create_app(context=ctx)) as client:
        _lose_and_recover(client, serve_ctx, role_users)


def _lose_and_recover(client: TestClient, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    admin = bearer(role_users["admin"])
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/session", headers=admin).status_code == 200
    with database_held(str(serve_ctx.engine.url.database)):
        for r in (client.get("/readyz"), client.get("/v1/session", headers=admin)):
            assert r.status_code == 503, (r.status_code, r.text)
            assert r.headers["retry-after"] == "5" and r.json()["error"]["code"] == "unavailable"
            assert r.headers["x-frame-options"] == "DENY"
        assert client.get("/healthz").status_code == 200  # alive: a restart would not help
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/session", headers=admin).json()["username"] == "admin"


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
