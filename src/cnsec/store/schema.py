"""The tables of the store (SQLAlchemy Core), today the IAM pillar's: the model that the Alembic history
in ``cnsec/store/alembic`` must produce (a test compares them on SQLite and PostgreSQL). Changing a table
here means adding a revision there.

The tables live beside their one migration history, on the ground floor, rather than in each pillar:
the store owns every pillar's schema (docs/store.md), and a ground-floor module never imports a pillar
(tests/test_architecture.py). The pillars read and write them through :mod:`cnsec.store`.

Times are UNIX seconds (floats) so that SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

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
)

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
