"""IAM: the one-row write lock that serialises IAM writes on SQLite (legacy version 3)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_iam_write_lock"
down_revision = "0002_iam_audit_append_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock = op.create_table(
        "iam_write_lock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("writes", sa.Integer, nullable=False),
    )
    op.bulk_insert(lock, [{"id": 1, "writes": 0}])


def downgrade() -> None:
    raise NotImplementedError("cnsec does not downgrade the IAM store: restore the backup taken before upgrading")
