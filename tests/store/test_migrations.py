"""The Alembic schema history: fresh stores, upgrades of pre-Alembic stores with every row kept,
concurrent upgrades, refusals, and the models agreeing with the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import Engine

from cnsec.iam import passwords
from cnsec.iam.store import BUILTIN_ROLES, IamStore, NotInitialized
from cnsec.store import migrations, schema
from cnsec.store.engine import dispose_all, get_engine, new_engine
from tests.store import legacy

FIXTURES = Path(__file__).with_name("fixtures")
#: Tables whose rows an upgrade must keep exactly (the write lock's counter and the audit log's new
#: store-init record are checked separately).
KEPT = ["iam_users", "iam_roles", "iam_role_parents", "iam_permissions", "iam_user_roles", "iam_throttle",
        "iam_signing_keys", "iam_refresh_tokens", "iam_revoked_tokens", "iam_audit_log"]
#: Passwords make_legacy.sh gave the fixture users.
PASSWORDS = {"alice": "Tangerine-Orbit-4471", "bob": "Quartz-Meadow-8812"}


def rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        md = MetaData()
        md.reflect(conn, only=KEPT)
        return {name: [tuple(r) for r in conn.execute(select(md.tables[name]).order_by(
            *md.tables[name].primary_key.columns))] for name in KEPT}


def legacy_store(url: str, version: int, source: Path = FIXTURES / "legacy_v3.db") -> dict[str, list[Any]]:
    """A store at pre-Alembic ``version`` built by the frozen old runner, holding the rows the old CLI
    wrote into ``source``; returns those rows."""
    engine = create_engine(url)
    legacy.migrate(engine, legacy.COMPONENT, legacy.MIGRATIONS[:version])
    src = create_engine(f"sqlite:///{source}")
    data = rows(src)
    src.dispose()
    with engine.begin() as conn:
        md = MetaData()
        md.reflect(conn, only=KEPT)
        for name in KEPT:
            if data[name]:
                cols = [c.name for c in md.tables[name].columns]
                conn.execute(md.tables[name].insert(), [dict(zip(cols, r)) for r in data[name]])
        if conn.dialect.name == "postgresql":  # as a restore would: sequences continue after the rows
            for table in ("iam_permissions", "iam_audit_log"):
                conn.execute(text(f"SELECT setval("  # noqa: S608 - constant table names
                                  f"pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    engine.dispose()
    return data


def check_kept(url: str, before: dict[str, list[Any]], inits: int = 1) -> None:
    engine = create_engine(url)
    after = rows(engine)
    engine.dispose()
    for name in KEPT:
        if name == "iam_audit_log":
            assert after[name][:len(before[name])] == before[name]
            assert [r[2] for r in after[name][len(before[name]):]] == ["store-init"] * inits
        elif name in ("iam_roles", "iam_permissions"):
            # every row kept; the built-in roles this cnsec adds (and their permissions) come after them
            assert after[name][:len(before[name])] == before[name] or set(before[name]) <= set(after[name]), name
            kept_roles = {r[0] for r in before["iam_roles"]}
            new_roles = {r[0] for r in after["iam_roles"]} - kept_roles
            assert new_roles <= set(BUILTIN_ROLES), new_roles
        else:
            assert after[name] == before[name], name
    assert sum(len(v) for v in before.values()) > 30  # the fixture really holds data


def fast_store(url: str) -> IamStore:
    return IamStore(url, ph=passwords.hasher(memory_kib=64, time_cost=1, parallelism=1))


def test_head_constant_is_the_single_head_of_the_shipped_scripts() -> None:
    assert migrations._script().get_heads() == [migrations.HEAD]


def test_every_legacy_version_maps_to_a_shipped_revision() -> None:
    script = migrations._script()
    for revision in migrations.LEGACY_REVISIONS.values():
        assert script.get_revision(revision) is not None


def test_a_new_store_is_created_at_head_and_a_second_upgrade_applies_nothing(db_url: str) -> None:
    engine = get_engine(db_url)
    applied = migrations.upgrade(engine)
    assert [m.version for m in applied] == ["0001_iam_tables", "0002_iam_audit_append_only", "0003_iam_write_lock",
                                            "0004_serve_tables"]
    assert applied[0].name.startswith("IAM: users, roles")
    assert migrations.upgrade(engine) == []
    migrations.require_current(engine, "store")


@pytest.mark.parametrize("legacy_version", [0, 1, 3])
def test_the_models_and_the_migration_head_agree(db_url: str, legacy_version: int) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = get_engine(db_url)
    if legacy_version:
        legacy_store(db_url, legacy_version)
    migrations.upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrations.compared,
                                                     "version_table": migrations.VERSION_TABLE})
        assert compare_metadata(ctx, migrations.target_metadata()) == []


def test_the_models_check_notices_a_model_the_migrations_lack(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Column, Integer, Table

    engine = get_engine(db_url)
    migrations.upgrade(engine)
    md = MetaData()
    for t in migrations.target_metadata().tables.values():
        t.to_metadata(md)
    Table("iam_not_migrated", md, Column("id", Integer, primary_key=True))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE})
        assert [d[0] for d in compare_metadata(ctx, md)] == ["add_table"]


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_pre_alembic_store_is_upgraded_keeping_every_row_and_the_audit_chain(db_url: str, version: int) -> None:
    before = legacy_store(db_url, version)
    store = fast_store(db_url)
    with pytest.raises(NotInitialized, match=f"older cnsec \\(schema version {version}\\).*cnsec iam init"):
        store.require_ready()
    applied = store.init()
    # the legacy revisions not yet applied, then every revision after them (serve's tables)
    assert [m.version for m in applied] == [*list(migrations.LEGACY_REVISIONS.values())[version:], "0004_serve_tables"]
    check_kept(db_url, before, inits=1 if applied else 0)
    assert store.verify_audit_chain().intact
    # the triggers of legacy version 2 hold after the upgrade
    with store.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM iam_audit_log"))
    # the store is usable: a kept user logs in with the password the old cnsec set
    assert store.authenticate("alice", PASSWORDS["alice"]).username == "alice"
    assert fast_store(db_url).init() == []


@pytest.mark.parametrize("version", [2, 3])
def test_a_store_written_by_the_old_cli_is_upgraded_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / f"legacy_v{version}.db", path)
    url = f"sqlite:///{path}"
    before = rows(create_engine(url))
    store = fast_store(url)
    inits = 1 if store.init() else 0
    check_kept(url, before, inits)
    check = store.verify_audit_chain()
    assert check.intact and check.entries == len(before["iam_audit_log"]) + inits
    assert {u.username for u in store.list_users()} == {"alice", "bob", "carol"}
    assert store.roles()["lead"].parents == ["auditor"]
    assert store.authenticate("bob", PASSWORDS["bob"]).username == "bob"
    dispose_all()


def test_a_schema_newer_than_this_cnsec_is_refused(db_url: str) -> None:
    engine = get_engine(db_url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '0099_future'"))  # noqa: S608
    with pytest.raises(migrations.MigrationError, match="newer than this cnsec"):
        migrations.require_current(engine, "store")
    with pytest.raises(migrations.MigrationError, match="newer than this cnsec"):
        migrations.upgrade(engine)


def test_an_empty_database_is_refused_with_the_command_to_run(db_url: str) -> None:
    with pytest.raises(migrations.MigrationError, match="not initialized: run `cnsec iam init`"):
        migrations.require_current(get_engine(db_url), "store")
    assert inspect(get_engine(db_url)).get_table_names() == []  # the check wrote nothing


def test_a_failing_revision_changes_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    legacy_store(db_url, 2)
    from sqlalchemy.engine import Connection

    real = Connection.execute

    def fail_on_write_lock(self: Connection, statement: Any, *a: Any, **kw: Any) -> Any:
        if "iam_write_lock" in str(statement) and "INSERT" in str(statement):
            raise RuntimeError("disk full")
        return real(self, statement, *a, **kw)

    monkeypatch.setattr(Connection, "execute", fail_on_write_lock)
    with pytest.raises(migrations.MigrationError, match=r"nothing was changed.*disk full"):
        migrations.upgrade(get_engine(db_url))
    monkeypatch.undo()
    names = set(inspect(get_engine(db_url)).get_table_names())
    assert "iam_write_lock" not in names and migrations.VERSION_TABLE not in names


def _init_at_once(stores: list[IamStore]) -> list[Any]:
    """Each store's ``init`` in its own thread, released together; the result or the exception."""
    barrier = threading.Barrier(len(stores))
    out: list[Any] = [None] * len(stores)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = stores[i].init(actor=f"admin{i}")
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_upgrades_at_once_both_succeed_and_one_does_the_work(db_url: str) -> None:
    from tests.iam.conftest import _reset_postgres

    for _ in range(5):
        dispose_all()
        if db_url.startswith("sqlite"):
            Path(db_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            _reset_postgres(db_url)
        legacy_store(db_url, 2)
        stores = [IamStore(db_url, engine=new_engine(db_url)) for _ in range(3)]
        out = _init_at_once(stores)
        assert all(isinstance(o, list) for o in out), out
        assert sorted(len(o) for o in out) == [0, 0, 2]  # legacy 2 -> 0003, then 0004
        assert stores[0].verify_audit_chain().intact
        for s in stores:
            s.engine.dispose()


def test_two_inits_of_a_new_store_at_once_both_succeed(db_url: str) -> None:
    stores = [IamStore(db_url, engine=new_engine(db_url)) for _ in range(3)]
    out = _init_at_once(stores)
    assert all(isinstance(o, list) for o in out), out
    assert sorted(len(o) for o in out) == [0, 0, 4]
    assert sorted(stores[0].roles()) == sorted(BUILTIN_ROLES)
    for s in stores:
        s.engine.dispose()


def test_checking_the_schema_on_open_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fast.db'}"
    fast_store(url).init()
    dispose_all()
    code = ("import sys\nfrom cnsec.iam.store import IamStore\n"
            f"IamStore({url!r}).require_ready()\nprint('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_write_lock_row_survives_the_upgrade(db_url: str) -> None:
    store = fast_store(db_url)
    store.init()
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.write_lock.c.id)).scalars().all() == [1]
