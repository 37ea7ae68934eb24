"""What people do with alerts: list and read them, acknowledge, assign, close, comment.

Every change is one IAM audit record (the hash-chained trail ``cnsec iam audit verify`` checks).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select, update

from cnsec.serve.context import ServeContext
from cnsec.serve.errors import ApiError
from cnsec.store import schema

STATUSES = ("open", "acknowledged", "closed")
SEVERITIES = ("info", "low", "medium", "high", "critical")
MAX_LIMIT = 500


def _row_dict(r: Any, evidence: bool) -> dict[str, Any]:
    data = orjson.loads(r.data)
    out = {"id": r.id, "rule": r.rule, "title": r.title, "severity": r.severity, "key": r.key,
           "first_seen": r.first_seen, "last_seen": r.last_seen, "count": r.count, "status": r.status,
           "assignee": r.assignee, "threat_id": data.get("threat_id"), "attack_ids": data.get("attack_ids", [])}
    if evidence:
        out["evidence"] = data.get("evidence", [])
        out["evidence_omitted"] = max(0, r.count - len(out["evidence"]))
    return out


def _cursor(last_seen: float, alert_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([last_seen, alert_id])).decode()


def _uncursor(cursor: str) -> tuple[float, str]:
    try:
        last_seen, alert_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(last_seen), str(alert_id)
    except Exception:
        raise ApiError(400, "cursor: not a cursor this API gave") from None


def list_alerts(ctx: ServeContext, *, status: str | None = None, severity: str | None = None,
                rule: str | None = None, since: float | None = None, limit: int = 50,
                cursor: str | None = None) -> dict[str, Any]:
    """Newest first (by last hit), keyset-paginated: a page is one indexed range read however deep."""
    t = schema.serve_alerts
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status: one of {', '.join(STATUSES)}")
    if severity is not None and severity not in SEVERITIES:
        raise ApiError(400, f"severity: one of {', '.join(SEVERITIES)}")
    limit = max(1, min(limit, MAX_LIMIT))
    q = select(t).order_by(t.c.last_seen.desc(), t.c.id.desc()).limit(limit + 1)
    if status:
        q = q.where(t.c.status == status)
    if severity:
        q = q.where(t.c.severity == severity)
    if rule:
        q = q.where(t.c.rule == rule)
    if since is not None:
        q = q.where(t.c.last_seen >= since)
    if cursor:
        ls, aid = _uncursor(cursor)
        q = q.where(or_(t.c.last_seen < ls, and_(t.c.last_seen == ls, t.c.id < aid)))
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
    items = [_row_dict(r, evidence=False) for r in rows[:limit]]
    nxt = _cursor(rows[limit - 1].last_seen, rows[limit - 1].id) if len(rows) > limit else None
    return {"items": items, "next": nxt}


def get_alert(ctx: ServeContext, alert_id: str) -> dict[str, Any]:
    t = schema.serve_alerts
    with ctx.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == alert_id)).first()
        if row is None:
            raise ApiError(404, f"no alert {alert_id!r}")
        c = schema.serve_comments
        comments = conn.execute(select(c.c.author, c.c.created_at, c.c.text)
                                .where((c.c.kind == "alert") & (c.c.ref == alert_id)).order_by(c.c.id)).all()
    out = _row_dict(row, evidence=True)
    out["comments"] = [{"author": a, "created_at": ts, "text": txt} for a, ts, txt in comments]
    return out


def _change(ctx: ServeContext, alert_id: str, actor: str, event: str, values: dict[str, Any],
            detail: dict[str, Any]) -> dict[str, Any]:
    t = schema.serve_alerts
    with ctx.engine.begin() as conn:
        done = conn.execute(update(t).where(t.c.id == alert_id).values(updated_at=ctx.iam.clock(), **values)).rowcount
    if not done:
        raise ApiError(404, f"no alert {alert_id!r}")
    ctx.iam.audit(event, actor, f"alert/{alert_id}", "serve", "success", detail)
    return get_alert(ctx, alert_id)


def acknowledge(ctx: ServeContext, alert_id: str, actor: str) -> dict[str, Any]:
    return _change(ctx, alert_id, actor, "alert-ack", {"status": "acknowledged"}, {})


def assign(ctx: ServeContext, alert_id: str, actor: str, assignee: str | None) -> dict[str, Any]:
    if assignee and ctx.iam.get_user(assignee) is None:
        raise ApiError(400, f"assignee: no user {assignee!r}")
    return _change(ctx, alert_id, actor, "alert-assign", {"assignee": assignee or None}, {"assignee": assignee})


def close(ctx: ServeContext, alert_id: str, actor: str, reason: str | None) -> dict[str, Any]:
    out = _change(ctx, alert_id, actor, "alert-close", {"status": "closed"}, {"reason": reason or ""})
    if reason:
        comment(ctx, alert_id, actor, f"closed: {reason}")
        out = get_alert(ctx, alert_id)
    return out


def comment(ctx: ServeContext, alert_id: str, actor: str, text: str) -> dict[str, Any]:
    get_alert(ctx, alert_id)  # 404 before writing
    with ctx.engine.begin() as conn:
        conn.execute(insert(schema.serve_comments).values(kind="alert", ref=alert_id, author=actor,
                                                          created_at=ctx.iam.clock(), text=text))
    ctx.iam.audit("alert-comment", actor, f"alert/{alert_id}", "serve", "success", {"chars": len(text)})
    return get_alert(ctx, alert_id)
