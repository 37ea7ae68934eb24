"""The tables of the store (SQLAlchemy Core), the IAM pillar's and ``cnsec serve``'s: the model that the Alembic history
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
    Index,
    Integer,
    LargeBinary,
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


# -- cnsec serve (revision 0004). Each block is owned by one part of serve; change a block here and in
# -- alembic/versions/0004_serve_tables.py together (a test compares the two on both databases).

# serve sessions (serve/auth.py): a browser's login. The cookie holds a random token; only its SHA-256
# is stored, so a copy of the database does not hold live sessions. ``csrf`` is the per-session secret
# every state-changing form must echo.
serve_sessions = Table(
    "serve_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(128), ForeignKey("iam_users.username", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("source", String(255), nullable=False, default=""),
)

# serve API keys (serve/auth.py, `cnsec serve keys`): long-lived bearer credentials for machines (the
# audit webhook, falcosidekick, CI), each tied to an IAM user whose roles it acts with. Only the
# SHA-256 of the key is stored; the key is shown once when made.
serve_api_keys = Table(
    "serve_api_keys", metadata,
    Column("id", String(16), primary_key=True),  # the key's public prefix, shown in lists and logs
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("username", String(128), ForeignKey("iam_users.username", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("revoked_at", Float),
    Column("last_used", Float),
)

# assessments and findings (serve/routes/assessments.py, findings.py)
serve_assessments = Table(
    "serve_assessments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(512), nullable=False, index=True),
    Column("source", String(32), nullable=False),  # upload | path | cluster
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("created_at", Float, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("finished_at", Float),
    Column("summary", Text, nullable=False, default="{}"),  # JSON: counts by severity and change
    Column("error", Text),
    Column("report", LargeBinary),  # the JSON report, gzip-compressed
)

#: One row per finding per assessment: the history.
serve_findings = Table(
    "serve_findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assessment_id", Integer, ForeignKey("serve_assessments.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("check_id", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("asset", String(512), nullable=False),
    Column("location", String(1024), nullable=False, default=""),
    Column("change", String(16), nullable=False),  # new | unchanged | reopened
    Column("data", Text, nullable=False),  # the finding as JSON
    Index("ix_serve_findings_assessment", "assessment_id", "severity"),
    Index("ix_serve_findings_fingerprint", "fingerprint"),
)

#: The current state of each finding of each target: what the findings page lists and triage changes.
serve_finding_states = Table(
    "serve_finding_states", metadata,
    #: the finding's id in the API: opaque, stable per (target, fingerprint) — a hash of the two
    #: (serve/services/findings.py), so it is also what keeps each pair once
    Column("fid", String(32), primary_key=True),
    Column("target", String(512), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("check_id", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("rank", Integer, nullable=False),  # the severity as a number, for sorting (critical = 4)
    Column("title", Text, nullable=False),
    Column("asset", String(512), nullable=False),
    Column("location", String(1024), nullable=False, default=""),
    Column("status", String(16), nullable=False),  # new | unchanged | fixed | reopened
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("last_assessment_id", Integer, nullable=False),
    Column("triage", String(16), nullable=False, default="open"),  # open | suppressed
    Column("suppressed_until", Float),
    Column("suppress_reason", Text),
    Column("assignee", String(128)),
    # the findings page: keyset pagination (serve/services/pages.py) in each sort order, over every
    # target or one — an index per order, so no page sorts anything
    Index("ix_serve_finding_states_page", "rank", "fid"),
    Index("ix_serve_finding_states_target_page", "target", "rank", "fid"),
    Index("ix_serve_finding_states_first_seen", "first_seen", "fid"),
    Index("ix_serve_finding_states_asset", "asset", "fid"),
    Index("ix_serve_finding_states_check", "check_id", "fid"),
)

serve_comments = Table(
    "serve_comments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # finding | alert | response
    Column("ref", String(600), nullable=False, index=True),  # target/fingerprint, alert id, response id
    Column("author", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("text", Text, nullable=False),
)

# ingest and alerts (serve/routes/ingest.py, alerts.py)
#: Accepted request bodies waiting for detection: a request is acknowledged once its row is committed,
#: and a row is deleted in the transaction that stores the alerts it caused.
serve_ingest_queue = Table(
    "serve_ingest_queue", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # k8s-audit | falco | events
    Column("received_at", Float, nullable=False),
    Column("events", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # JSON lines, one event each
    # seq must never be reused after rows are deleted (SQLite reuses the largest rowid + 1 otherwise):
    # the detector's checkpoint says "everything up to seq N is in"
    sqlite_autoincrement=True,
)

#: One row: the detector's state (its windows and open alerts, ``Detector.snapshot``) and the last queue
#: seq it reflects. Written in the transaction that deletes the queue rows up to that seq, so a restart
#: restores it and replays exactly the rows after it.
serve_detector_state = Table(
    "serve_detector_state", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("snapshot", LargeBinary, nullable=False),
    Column("rules", String(64), nullable=False),  # digest of the rules the snapshot was taken under
    Column("events", Integer, nullable=False),  # events fed in all, up to seq (what ingest has stored)
    Column("updated_at", Float, nullable=False),
)

serve_alerts = Table(
    "serve_alerts", metadata,
    Column("id", String(64), primary_key=True),  # the detector's deterministic alert id
    Column("rule", String(255), nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("key", String(512), nullable=False, default=""),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("status", String(16), nullable=False, default="open"),  # open | acknowledged | closed
    Column("assignee", String(128)),
    Column("stored_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("data", Text, nullable=False),  # the alert as JSON, evidence included
    Index("ix_serve_alerts_list", "status", "last_seen"),
)

# responses (serve/routes/responses.py): plan -> approve -> apply through the respond engine
serve_responses = Table(
    "serve_responses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), index=True),
    Column("action", String(128), nullable=False),
    Column("params", Text, nullable=False, default="{}"),
    Column("status", String(16), nullable=False),  # planned | approved | applied | failed | rejected
    Column("dry_run", Text, nullable=False, default=""),  # what the dry run said it would do
    Column("result", Text),
    Column("created_by", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("approved_by", String(128)),
    Column("approved_at", Float),
    Column("applied_at", Float),
)
