"""Persistence shared by the pillars: SQLAlchemy engines from ``CNSEC_DB`` and schema migrations."""

from cnsec.store.engine import ENV_VAR, default_url, dispose_all, get_engine, redact, resolve_url, session
from cnsec.store.migrations import Migration, MigrationError, current_version, migrate

__all__ = [
    "ENV_VAR",
    "Migration",
    "MigrationError",
    "current_version",
    "default_url",
    "dispose_all",
    "get_engine",
    "migrate",
    "redact",
    "resolve_url",
    "session",
]
