"""IAM: the database itself refuses UPDATE and DELETE on the audit log, whoever connects (legacy version 2)."""

from __future__ import annotations

from alembic import op

revision = "0002_iam_audit_append_only"
down_revision = "0001_iam_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS iam_audit_log_no_{verb.lower()} BEFORE {verb} ON iam_audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'iam_audit_log is append-only'); END")
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION iam_audit_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'iam_audit_log is append-only'; END; $$ LANGUAGE plpgsql")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS iam_audit_log_no_{verb.lower()} ON iam_audit_log")
            op.execute(
                f"CREATE TRIGGER iam_audit_log_no_{verb.lower()} BEFORE {verb} ON iam_audit_log "
                f"FOR EACH ROW EXECUTE FUNCTION iam_audit_log_append_only()")


def downgrade() -> None:
    raise NotImplementedError("cnsec does not downgrade the IAM store: restore the backup taken before upgrading")
