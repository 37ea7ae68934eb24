"""Persistence shared by the pillars: SQLAlchemy engines from ``CNSEC_DB`` and the Alembic schema history."""

from cnsec.store.engine import ENV_VAR, default_url, dispose_all, get_engine, redact, resolve_url, session
from cnsec.store.migrations import HEAD, Migration, MigrationError, require_current, upgrade

__all__ = [
    "ENV_VAR",
    "HEAD",
    "Migration",
    "MigrationError",
    "default_url",
    "dispose_all",
    "get_engine",
    "redact",
    "require_current",
    "resolve_url",
    "session",
    "upgrade",
]
