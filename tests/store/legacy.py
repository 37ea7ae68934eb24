"""Frozen copy of the pre-Alembic store (cnsec f3d02be: src/cnsec/store/migrations.py and the migration
steps of src/cnsec/iam/schema.py), so the upgrade tests build legacy stores with the old code path on both
databases. Never edit it to follow the current schema: it stands for stores that exist in the field."""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cnsec.errors import CnsecError

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine

VERSIONS_TABLE = "cnsec_schema_migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


class MigrationError(CnsecError):
    """The database schema is newer than this cnsec, or a step failed."""


def _versions_table() -> Table:
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

    md = MetaData()
    return Table(
        VERSIONS_TABLE, md,
        Column("component", String(64), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("name", String(200), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
    )


def applied_versions(engine: Engine, component: str) -> list[int]:
    from sqlalchemy import select

    table = _versions_table()
    table.metadata.create_all(engine, checkfirst=True)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.version).where(table.c.component == component))
        return sorted(int(r[0]) for r in rows)


def current_version(engine: Engine, component: str) -> int:
    versions = applied_versions(engine, component)
    return versions[-1] if versions else 0


def migrate(engine: Engine, component: str, steps: Sequence[Migration]) -> list[Migration]:
    """Apply the pending steps in version order; return those applied (empty when up to date)."""
    ordered = sorted(steps, key=lambda m: m.version)
    if len({m.version for m in ordered}) != len(ordered):
        raise MigrationError(f"{component}: duplicate migration versions")
    done = set(applied_versions(engine, component))
    known = {m.version for m in ordered}
    newer = sorted(done - known)
    if newer:
        raise MigrationError(f"the {component} schema is at version {newer[-1]}, newer than this cnsec "
                             f"knows ({max(known, default=0)}); upgrade cnsec")
    table = _versions_table()
    applied: list[Migration] = []
    for step in ordered:
        if step.version in done:
            continue
        try:
            with engine.begin() as conn:
                step.upgrade(conn)
                conn.execute(table.insert().values(component=component, version=step.version,
                                                   name=step.name, applied_at=datetime.now(UTC)))
        except CnsecError:
            raise
        except Exception as exc:
            raise MigrationError(f"{component} migration {step.version} ({step.name}) failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        applied.append(step)
    return applied
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection


COMPONENT = "iam"
metadata = MetaData()

users = Table(
    "iam_users", metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("locked", Boolean, nullable=False, default=False),
    Column("mfa_secret", String(64)),
    Column("mfa_enabled", Boolean, nullable=False, default=False),
    Column("mfa_last_step", Integer, nullable=False, default=0),
    Column("tokens_valid_after", Float, nullable=False, default=0.0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

roles = Table(
    "iam_roles", metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)

role_parents = Table(
    "iam_role_parents", metadata,
    Column("role", String(128), ForeignKey("iam_roles.name", ondelete="CASCADE"), primary_key=True),
    Column("parent", String(128), ForeignKey("iam_roles.name"), primary_key=True),
)

permissions = Table(
    "iam_permissions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(128), ForeignKey("iam_roles.name", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("resource", String(255), nullable=False),
    Column("action", String(128), nullable=False),
    Column("effect", String(8), nullable=False),
    UniqueConstraint("role", "resource", "action", "effect", name="uq_iam_permission"),
)

user_roles = Table(
    "iam_user_roles", metadata,
    Column("username", String(128), ForeignKey("iam_users.username", ondelete="CASCADE"), primary_key=True),
    Column("role", String(128), ForeignKey("iam_roles.name"), primary_key=True),
)

throttle = Table(
    "iam_throttle", metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_failure", Float, nullable=False, default=0.0),
    Column("locked_until", Float, nullable=False, default=0.0),
)

signing_keys = Table(
    "iam_signing_keys", metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_pem", Text, nullable=False),
    Column("public_pem", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float),
)

refresh_tokens = Table(
    "iam_refresh_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family", String(64), nullable=False, index=True),
    Column("username", String(128), ForeignKey("iam_users.username", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("issued_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
    Column("revoked", Boolean, nullable=False, default=False),
)

revoked_tokens = Table(
    "iam_revoked_tokens", metadata,
    Column("jti", String(64), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)

audit_log = Table(
    "iam_audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False, index=True),
    Column("event", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("source", String(255), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: One row. Every IAM write transaction first updates it (SQLite; PostgreSQL takes an advisory lock
#: instead), so read-then-write decisions — the audit chain's head, brute-force counters, the last
#: TOTP step, a refresh token's state — are taken by one writer at a time across processes.
write_lock = Table(
    "iam_write_lock", metadata,
    Column("id", Integer, primary_key=True),
    Column("writes", Integer, nullable=False, default=0),
)

_V1_TABLES = [users, roles, role_parents, permissions, user_roles, throttle, signing_keys, refresh_tokens,
              revoked_tokens, audit_log]


def _v1_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=_V1_TABLES)


def _v2_append_only_audit(conn: Connection) -> None:
    """The database itself refuses UPDATE and DELETE on the audit log, whoever connects."""
    if conn.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.execute(text(
                f"CREATE TRIGGER IF NOT EXISTS iam_audit_log_no_{op.lower()} BEFORE {op} ON iam_audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'iam_audit_log is append-only'); END"))
    elif conn.dialect.name == "postgresql":
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION iam_audit_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'iam_audit_log is append-only'; END; $$ LANGUAGE plpgsql"))
        for op in ("UPDATE", "DELETE"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS iam_audit_log_no_{op.lower()} ON iam_audit_log"))
            conn.execute(text(
                f"CREATE TRIGGER iam_audit_log_no_{op.lower()} BEFORE {op} ON iam_audit_log "
                f"FOR EACH ROW EXECUTE FUNCTION iam_audit_log_append_only()"))


def _v3_write_lock(conn: Connection) -> None:
    write_lock.create(conn, checkfirst=True)
    conn.execute(write_lock.insert().values(id=1, writes=0))


MIGRATIONS = (
    Migration(1, "users, roles, permissions, throttling, keys, tokens, audit log", _v1_tables),
    Migration(2, "append-only audit log triggers", _v2_append_only_audit),
    Migration(3, "write lock row: IAM writes are serialised", _v3_write_lock),
)
LATEST = MIGRATIONS[-1].version
