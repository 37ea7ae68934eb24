"""One place that turns ``CNSEC_DB`` into an SQLAlchemy engine, for every pillar that persists state.

SQLite is the default (a file in the user's data directory, created private to the user); PostgreSQL
works by URL. ``postgresql://`` URLs are routed to the psycopg 3 driver, the one the project ships.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnsec.errors import CnsecError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

ENV_VAR = "CNSEC_DB"
_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def data_dir() -> Path:
    """``$XDG_DATA_HOME/cnsec`` (``~/.local/share/cnsec`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cnsec"


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'cnsec.db'}"


def resolve_url(url: str | None = None) -> str:
    """The explicit URL, else ``CNSEC_DB``, else the default SQLite file; normalized for our drivers."""
    raw = url or os.environ.get(ENV_VAR) or default_url()
    raw = raw.strip()
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show only the scheme
        return url.split(":", 1)[0] + "://…"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def new_engine(url: str | None = None, *, create_dir: bool = True) -> Engine:
    """A fresh engine (own pool) for ``url``: what :func:`get_engine` caches, and what a test that
    plays several clients against one database needs. A bad URL, a missing driver or a SQLite file
    that cannot be created is a :class:`UsageError`, not a traceback."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    resolved = resolve_url(url)
    try:
        if resolved.startswith("sqlite"):
            from sqlalchemy.engine import make_url

            db = make_url(resolved).database
            if db and db != ":memory:" and create_dir:
                path = Path(db)
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.exists():
                    path.touch(mode=0o600)
            engine = create_engine(resolved, future=True)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(resolved, future=True, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UsageError(f"{ENV_VAR}: cannot use database URL {redact(resolved)}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise UsageError(f"{ENV_VAR}: the driver for {redact(resolved)} is not installed "
                         f"({exc.name}); install cnsec[postgres]") from None
    except OSError as exc:
        raise UsageError(f"{ENV_VAR}: cannot create the database file for {redact(resolved)}: "
                         f"{exc.strerror or exc}") from None
    return engine


def get_engine(url: str | None = None, *, create_dir: bool = True) -> Engine:
    """A cached engine for ``url`` (see :func:`new_engine`)."""
    resolved = resolve_url(url)
    with _LOCK:
        engine = _ENGINES.get(resolved)
        if engine is None:
            engine = _ENGINES[resolved] = new_engine(resolved, create_dir=create_dir)
        return engine


class DatabaseError(CnsecError):
    """The database could not be reached or answered with an error: exit 2 with one clear line."""


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a driver error (server unreachable, table dropped, permission refused) into a
    :class:`DatabaseError` naming the redacted URL and the driver's first line, not a traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise DatabaseError(f"database {redact(url)}: {driver_message(exc)}") from None


def driver_message(exc: Exception) -> str:
    """The first line of the driver's own message (SQLAlchemy's adds the SQL and a link)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def dispose_all() -> None:
    """Close every pooled connection (tests and short-lived CLI runs)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


@contextlib.contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """An ORM session in one transaction: committed on success, rolled back on any exception."""
    from sqlalchemy.orm import Session

    with Session(get_engine(url), future=True) as s, s.begin():
        yield s
