from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cnsec.errors import UsageError
from cnsec.store.engine import dispose_all, get_engine, resolve_url


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
