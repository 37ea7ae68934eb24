"""A small versioned schema-migration runner shared by every pillar.

Each component (``iam``, later ``detect`` …) registers an ordered list of :class:`Migration` steps.
:func:`migrate` records applied versions in ``cnsec_schema_migrations`` and applies the pending ones,
each in its own transaction, so a failed step leaves the schema at the previous version. Steps are
plain functions over a SQLAlchemy connection: they work the same on SQLite and PostgreSQL, and may
branch on ``conn.dialect.name`` for dialect-specific DDL (triggers).
"""

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
