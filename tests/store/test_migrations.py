from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cnsec.errors import UsageError
from cnsec.store.engine import dispose_all, get_engine, resolve_url
from cnsec.store.migrations import Migration, MigrationError, current_version, migrate


def _create(name: str):  # type: ignore[no-untyped-def]
    def up(conn):  # type: ignore[no-untyped-def]
        conn.execute(text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)"))
    return up


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = get_engine(f"sqlite:///{tmp_path / 'm.db'}")
    yield eng
    dispose_all()


def test_pending_migrations_are_applied_in_version_order(engine) -> None:  # type: ignore[no-untyped-def]
    steps = [Migration(2, "b", _create("b")), Migration(1, "a", _create("a"))]
    applied = migrate(engine, "demo", steps)
    assert [m.version for m in applied] == [1, 2]
    assert current_version(engine, "demo") == 2


def test_migrating_twice_applies_nothing_the_second_time(engine) -> None:  # type: ignore[no-untyped-def]
    steps = [Migration(1, "a", _create("a"))]
    migrate(engine, "demo", steps)
    assert migrate(engine, "demo", steps) == []


def test_failed_step_leaves_schema_at_previous_version(engine) -> None:  # type: ignore[no-untyped-def]
    def broken(conn):  # type: ignore[no-untyped-def]
        conn.execute(text("CREATE TABLE c (id INTEGER)"))
        raise RuntimeError("boom")

    with pytest.raises(MigrationError, match="migration 2"):
        migrate(engine, "demo", [Migration(1, "a", _create("a")), Migration(2, "c", broken)])
    assert current_version(engine, "demo") == 1


def test_schema_newer_than_code_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    migrate(engine, "demo", [Migration(1, "a", _create("a")), Migration(2, "b", _create("b"))])
    with pytest.raises(MigrationError, match="newer"):
        migrate(engine, "demo", [Migration(1, "a", _create("a"))])


def test_components_keep_separate_versions(engine) -> None:  # type: ignore[no-untyped-def]
    migrate(engine, "one", [Migration(1, "a", _create("a"))])
    assert current_version(engine, "two") == 0


def test_postgresql_urls_use_the_psycopg_driver() -> None:
    assert resolve_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"


def test_cnsec_db_environment_variable_chooses_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNSEC_DB", "sqlite:////tmp/x.db")
    assert resolve_url() == "sqlite:////tmp/x.db"


def test_bad_database_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="CNSEC_DB"):
        get_engine("nosuchdialect://x")


def test_new_sqlite_file_is_private_to_the_user(tmp_path: Path) -> None:
    get_engine(f"sqlite:///{tmp_path / 'sub' / 'p.db'}")
    assert (tmp_path / "sub" / "p.db").stat().st_mode & 0o077 == 0
    dispose_all()


def test_session_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    from cnsec.store.engine import session

    url = f"sqlite:///{tmp_path / 's.db'}"
    with session(url) as s:
        s.execute(text("CREATE TABLE t (v INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(RuntimeError), session(url) as s:
        s.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("boom")
    with session(url) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    dispose_all()
