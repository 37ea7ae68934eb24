"""serve: sessions, API keys, assessments, findings and their history, triage comments, the ingest queue, alerts
and responses (the tables of ``cnsec serve``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_serve_tables"
down_revision = "0003_iam_write_lock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serve_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "username",
            sa.String(128),
            sa.ForeignKey("iam_users.username", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
    )
    op.create_table(
        "serve_api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "username",
            sa.String(128),
            sa.ForeignKey("iam_users.username", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("last_used", sa.Float, nullable=True),
    )
    op.create_table(
        "serve_assessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(512), nullable=False, index=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("report", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "serve_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "assessment_id",
            sa.Integer,
            sa.ForeignKey("serve_assessments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("asset", sa.String(512), nullable=False),
        sa.Column("location", sa.String(1024), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_serve_findings_fingerprint", "serve_findings", ["fingerprint"])
    op.create_index("ix_serve_findings_assessment", "serve_findings", ["assessment_id", "severity"])
    op.create_table(
        "serve_finding_states",
        sa.Column("fid", sa.String(32), primary_key=True),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("asset", sa.String(512), nullable=False),
        sa.Column("location", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("last_assessment_id", sa.Integer, nullable=False),
        sa.Column("triage", sa.String(16), nullable=False),
        sa.Column("suppressed_until", sa.Float, nullable=True),
        sa.Column("suppress_reason", sa.Text, nullable=True),
        sa.Column("assignee", sa.String(128), nullable=True),
    )
    op.create_index("ix_serve_finding_states_page", "serve_finding_states", ["rank", "fid"])
    op.create_index(
        "ix_serve_finding_states_target_page", "serve_finding_states", ["target", "rank", "fid"]
    )
    op.create_index("ix_serve_finding_states_first_seen", "serve_finding_states", ["first_seen", "fid"])
    op.create_index("ix_serve_finding_states_asset", "serve_finding_states", ["asset", "fid"])
    op.create_index("ix_serve_finding_states_check", "serve_finding_states", ["check_id", "fid"])
    op.create_table(
        "serve_comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(600), nullable=False, index=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "serve_ingest_queue",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "serve_detector_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("snapshot", sa.LargeBinary, nullable=False),
        sa.Column("rules", sa.String(64), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "serve_alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("stored_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_serve_alerts_list", "serve_alerts", ["status", "last_seen"])
    op.create_table(
        "serve_responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), nullable=True, index=True),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", sa.Float, nullable=True),
        sa.Column("applied_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    raise NotImplementedError("cnsec does not downgrade the store: restore the backup taken before upgrading")
