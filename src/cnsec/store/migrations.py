"""cnsec's one schema history, run by Alembic as a library (no ``alembic.ini``, no ``env.py``).

Every pillar's tables are revisions of one linear history shipped in ``cnsec/store/alembic/versions``
(today the IAM tables; assessments, findings, alerts … become later revisions). The applied head is
recorded in ``cnsec_schema_version``.

Two paths, on purpose:

* :func:`upgrade` (``cnsec iam init``) imports Alembic, takes a lock that serialises concurrent
  upgrades (a PostgreSQL advisory lock, SQLite's write lock via ``BEGIN IMMEDIATE``), adopts a store
  made by the pre-Alembic runner (``cnsec_schema_migrations``, versions 1..3) by stamping the matching
  revision, then applies the pending revisions in that one transaction: two upgrades at once leave
  one to do the work and the other to find nothing pending.
* :func:`require_current` (every other command) is one ``SELECT`` compared with :data:`HEAD`; it never
  imports Alembic and never changes the schema. A store behind the code is refused with a message
  saying to run ``cnsec iam init``: an operator upgrades deliberately (after a backup), not as a side
  effect of a login, and a newer schema than the code knows is refused too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnsec.errors import CnsecError
from cnsec.store.engine import driver_message

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Connection, Engine

#: Where Alembic records the applied revision.
VERSION_TABLE = "cnsec_schema_version"
#: The head of the history shipped with this cnsec (a test checks it against the scripts).
HEAD = "0004_serve_tables"
#: The pre-Alembic runner's table and the revision each of its IAM versions corresponds to.
LEGACY_TABLE = "cnsec_schema_migrations"
LEGACY_REVISIONS = {1: "0001_iam_tables", 2: "0002_iam_audit_append_only", 3: "0003_iam_write_lock"}
#: PostgreSQL advisory lock key serialising schema upgrades ("cnsecmig").
PG_MIGRATION_LOCK = 0x636E_7365_636D_6967
SCRIPTS = Path(__file__).with_name("alembic")
#: The two reads that tell a store's state; shared by :func:`schema_state` and :func:`schema_state_in`.
_REVISION_SQL = f"SELECT version_num FROM {VERSION_TABLE}"  # noqa: S608 - constant
_LEGACY_SQL = f"SELECT max(version) FROM {LEGACY_TABLE} WHERE component = 'iam'"  # noqa: S608 - constant


class MigrationError(CnsecError):
    """The schema is behind or ahead of this cnsec, or an upgrade step failed."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One applied revision: its id and the first line of its docstring."""

    version: str
    name: str


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What a database holds: the Alembic revision, else the legacy runner's IAM version, else nothing."""

    revision: str | None
    legacy_version: int | None

    @property
    def empty(self) -> bool:
        return self.revision is None and self.legacy_version is None


def target_metadata() -> MetaData:
    """Every table of every pillar (:mod:`cnsec.store.schema`), for autogenerate comparisons."""
    from cnsec.store import schema

    return schema.metadata


def compared(name: str | None, type_: str, _parent: Any) -> bool:
    """Alembic ``include_name`` hook: the pre-Alembic runner's table, kept on adopted stores, is not a
    model and not a difference."""
    return not (type_ == "table" and name == LEGACY_TABLE)


def _scalar_or_none(conn: Connection, sql: str) -> Any:
    """The first column of the first row, or None when the table does not exist (the failed statement
    runs in a savepoint-free transaction of its own, rolled back, so PostgreSQL stays usable)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with conn.begin():
            return conn.execute(text(sql)).scalar()
    except DBAPIError:
        return None


def schema_state(conn: Connection) -> SchemaState:
    revision = _scalar_or_none(conn, _REVISION_SQL)
    legacy = _scalar_or_none(conn, _LEGACY_SQL) if revision is None else None
    return SchemaState(revision, int(legacy) if legacy is not None else None)


def require_current(engine: Engine, what: str) -> None:
    """Refuse, with the command to run, a store that is not at :data:`HEAD`; one query, no Alembic."""
    with engine.connect() as conn:
        state = schema_state(conn)
    if state.revision == HEAD:
        return
    if state.empty:
        raise MigrationError(f"{what} is not initialized: run `cnsec iam init`")
    if state.legacy_version is not None:
        raise MigrationError(f"{what} was made by an older cnsec (schema version {state.legacy_version}): "
                             f"back it up, then run `cnsec iam init` to upgrade it")
    if not _known(state.revision):
        raise MigrationError(f"{what} has schema {state.revision}, newer than this cnsec knows ({HEAD}): "
                             f"upgrade cnsec")
    raise MigrationError(f"{what} is out of date (schema {state.revision}, need {HEAD}): back it up, "
                         f"then run `cnsec iam init` to upgrade it")


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _known(revision: str | None) -> bool:
    from alembic.util import CommandError

    try:
        return revision is not None and _script().get_revision(revision) is not None
    except CommandError:
        return False


def _lock(conn: Connection) -> None:
    """Begin the upgrade transaction holding the lock every concurrent upgrade waits for."""
    from sqlalchemy import text

    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes the database's write lock now, not at first write
    else:
        conn.begin()
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})


def upgrade(engine: Engine) -> list[Migration]:
    """Bring the schema to :data:`HEAD` in one locked transaction; return the revisions applied
    (empty when already current). A failed step rolls everything back and raises :class:`MigrationError`."""
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import MigrationContext, MigrationInfo

    cfg, script = _config(), _script()
    applied: list[Migration] = []

    def record(ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any],
               run_args: Mapping[str, Any]) -> None:
        if step.up_revision is not None and step.is_upgrade:
            doc = str(getattr(step.up_revision, "doc", "") or "").strip().splitlines()
            applied.append(Migration(step.up_revision.revision, doc[0] if doc else ""))

    with engine.connect() as conn:
        try:
            _lock(conn)
            state = schema_state_in(conn)
            if state.revision is not None and not _known(state.revision):
                raise MigrationError(f"the schema is at {state.revision}, newer than this cnsec knows "
                                     f"({HEAD}): upgrade cnsec")
            with EnvironmentContext(cfg, script, fn=lambda rev, _ctx: script._upgrade_revs("head", rev)) as env:
                env.configure(connection=conn, target_metadata=target_metadata(), version_table=VERSION_TABLE,
                              on_version_apply=record)
                if state.revision is None and state.legacy_version is not None:
                    legacy = LEGACY_REVISIONS.get(state.legacy_version)
                    if legacy is None:
                        raise MigrationError(f"the schema is at legacy version {state.legacy_version}, newer "
                                             f"than this cnsec knows: upgrade cnsec")
                    env.get_context().stamp(script, legacy)
                env.run_migrations()
            conn.commit()
        except CnsecError:
            conn.rollback()
            raise
        except Exception as exc:
            conn.rollback()
            raise MigrationError(f"schema upgrade failed, nothing was changed: {type(exc).__name__}: "
                                 f"{driver_message(exc)}") from exc
    return applied


def schema_state_in(conn: Connection) -> SchemaState:
    """:func:`schema_state` inside an already-open transaction (the upgrade's): a missing table is
    detected by inspection, since a failed statement would abort a PostgreSQL transaction."""
    from sqlalchemy import inspect, text

    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        revision = conn.execute(text(_REVISION_SQL)).scalar()
        if revision is not None:
            return SchemaState(str(revision), None)
    if LEGACY_TABLE in names:
        legacy = conn.execute(text(_LEGACY_SQL)).scalar()
        if legacy is not None:
            return SchemaState(None, int(legacy))
    return SchemaState(None, None)
