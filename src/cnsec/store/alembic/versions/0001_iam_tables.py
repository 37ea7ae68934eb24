"""IAM: users, roles, permissions, throttling, signing keys, tokens, audit log.

Frozen copy of the tables as cnsec's first IAM schema created them (legacy version 1): a later change
to :mod:`cnsec.store.schema` is a new revision, never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_iam_tables"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iam_users",
        sa.Column("username", sa.String(128), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("mfa_secret", sa.String(64)),
        sa.Column("mfa_enabled", sa.Boolean, nullable=False),
        sa.Column("mfa_last_step", sa.Integer, nullable=False),
        sa.Column("tokens_valid_after", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_roles",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_role_parents",
        sa.Column("role", sa.String(128), sa.ForeignKey("iam_roles.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("parent", sa.String(128), sa.ForeignKey("iam_roles.name"), primary_key=True),
    )
    op.create_table(
        "iam_permissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(128), sa.ForeignKey("iam_roles.name", ondelete="CASCADE"), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("effect", sa.String(8), nullable=False),
        sa.UniqueConstraint("role", "resource", "action", "effect", name="uq_iam_permission"),
    )
    op.create_index("ix_iam_permissions_role", "iam_permissions", ["role"])
    op.create_table(
        "iam_user_roles",
        sa.Column("username", sa.String(128), sa.ForeignKey("iam_users.username", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(128), sa.ForeignKey("iam_roles.name"), primary_key=True),
    )
    op.create_table(
        "iam_throttle",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure", sa.Float, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("retired_at", sa.Float),
    )
    op.create_table(
        "iam_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128), sa.ForeignKey("iam_users.username", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_iam_refresh_tokens_family", "iam_refresh_tokens", ["family"])
    op.create_index("ix_iam_refresh_tokens_username", "iam_refresh_tokens", ["username"])
    op.create_table(
        "iam_revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_iam_audit_log_ts", "iam_audit_log", ["ts"])


def downgrade() -> None:
    raise NotImplementedError("cnsec does not downgrade the IAM store: restore the backup taken before upgrading")
