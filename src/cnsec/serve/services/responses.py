"""Responses: plan (a dry run) → approve or reject → apply, through the respond engine.

A response is one action (``block_traffic``, ``quarantine_pod``, ``deny_access``, ``notify``) for one
alert: one stored in ``serve_alerts`` (``alert_id``), or a manual one naming its ``key`` (an address, a
user, a pod). It runs through :class:`cnsec.respond.Responder` exactly as ``cnsec respond`` does, as a
playbook of one rule — so the bundled playbook's allow-list (kube-system, the API server...), the rate
limit and idempotency (both kept in the respond engine's own hash-chained trail) hold here too.

* **plan** runs the dry run and stores what it would do (the decisions and the exact manifests and
  commands); nothing is changed.
* **approve** / **reject**: a person with ``responses:approve`` decides on that stored plan.
* **apply** acts on the approved plan's alert and parameters, once: the row is claimed
  (``approved`` → ``applying``) in one UPDATE, so two clicks apply it once. The outcome (``applied``,
  or ``failed`` when any decision failed) and the decisions are stored.

Every step is an IAM audit record (``response-plan``, ``-approve``, ``-reject``, ``-apply``).

Parameters that name a server file or a URL (``blocklist_file``, ``store``, ``url``, ``url_env``) are
refused from the API: they are the operator's to set, in a playbook; over the API they would let a
caller write files on the server or make it reach any host.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from cnsec.serve.context import ServeContext
from cnsec.serve.errors import ApiError
from cnsec.serve.services import pages
from cnsec.store import schema

if TYPE_CHECKING:
    from cnsec.model.event import Alert
    from cnsec.respond import ActionContext, RunResult

R = schema.serve_responses
OPERATOR_PARAMS = frozenset({"blocklist_file", "store", "url", "url_env"})
STATUSES = ("planned", "approved", "rejected", "applying", "applied", "failed")
#: ``ctx.parts`` key of a callable ``(apply: bool) -> ActionContext`` (tests give doubles of the cluster)
ACTION_CONTEXT = "respond_action_context"


def _action_context(ctx: ServeContext, apply: bool) -> ActionContext:
    factory = ctx.parts.get(ACTION_CONTEXT)
    if factory is not None:
        made: ActionContext = factory(apply)
        return made
    from cnsec.respond import ActionContext

    return ActionContext(apply=apply)


def _alert(ctx: ServeContext, alert_id: str | None, key: str | None, severity: str, actor: str) -> Alert:
    from cnsec.respond import alert_from_dict

    if alert_id:
        with ctx.engine.connect() as conn:
            data = conn.execute(select(schema.serve_alerts.c.data)
                                .where(schema.serve_alerts.c.id == alert_id)).scalar()
        if data is None:
            raise ApiError(404, f"no alert {alert_id!r}")
        try:
            return alert_from_dict(json.loads(data))
        except ValueError as exc:
            raise ApiError(409, f"the stored alert cannot be responded to: {exc}") from None
    if not key:
        raise ApiError(400, "name the alert (alert_id) or, for a manual response, the key to act on (an "
                            "address, user or namespace/pod)")
    now = ctx.iam.clock()
    try:
        return alert_from_dict({"rule_id": "manual", "title": f"manual response requested by {actor}", "key": key,
                                "severity": severity, "first_seen": now, "last_seen": now})
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _run(ctx: ServeContext, alert: Alert, action: str, params: dict[str, Any], apply: bool,
         ref: str) -> RunResult:
    """The engine over a playbook of one rule (the bundled playbook's allow-list and rate limit)."""
    from cnsec.model.source import Source
    from cnsec.respond import (
        AuditTrail,
        LoadedAlert,
        PlaybookRule,
        Responder,
        Step,
        bundled_playbook_path,
        default_path,
        load_playbook,
    )

    playbook = load_playbook(bundled_playbook_path())
    source = Source(f"cnsec serve response {ref}")
    playbook.rules = [PlaybookRule(name=f"serve-{ref}", source=source, steps=[Step(action, params, source)])]
    trail = AuditTrail(ctx.settings.respond_audit_log or default_path())
    return Responder(playbook, _action_context(ctx, apply), trail, clock=ctx.iam.clock).run(
        [LoadedAlert(alert, source)])


def _outcome(result: RunResult) -> dict[str, Any]:
    return {"decisions": [d.to_dict() for d in result.decisions], "counts": dict(result.counts()),
            "artifacts": result.artifacts, "notes": result.notes, "audit_head": result.audit_head}


def actions() -> list[dict[str, Any]]:
    from cnsec.respond import load_actions

    return [{"id": a.id, "description": a.description, "disruptive": a.disruptive,
             "params": {n: {"type": p.kind, "default": p.default, "help": p.help}
                        for n, p in a.params.items() if n not in OPERATOR_PARAMS}}
            for a in load_actions().values()]


def plan(ctx: ServeContext, action: str, params: dict[str, Any], actor: str, source: str, *,
         alert_id: str | None = None, key: str | None = None, severity: str = "high") -> dict[str, Any]:
    """Dry-run ``action`` for the alert and store the plan (status ``planned``)."""
    from cnsec.errors import CnsecError
    from cnsec.respond import load_actions

    known = load_actions()
    if action not in known:
        raise ApiError(400, f"unknown action {action!r} (known: {', '.join(sorted(known))})")
    fixed = sorted(OPERATOR_PARAMS & set(params))
    if fixed:
        raise ApiError(400, f"{action}: parameter {fixed[0]} is set by the server's operator, not over the API")
    try:
        checked = known[action].validate(params)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    alert = _alert(ctx, alert_id, key, severity, actor)
    now = ctx.iam.clock()
    with ctx.engine.begin() as conn:
        rid: int = conn.execute(insert(R).values(alert_id=alert_id, action=action,
                                                 params=json.dumps(params, sort_keys=True), status="planned",
                                                 dry_run="{}", created_by=actor, created_at=now)
                                .returning(R.c.id)).scalar_one()
    try:
        result = _run(ctx, alert, action, checked, False, str(rid))
    except CnsecError as exc:  # a broken respond trail: nothing planned, and said why
        _set(ctx, rid, status="failed", result=json.dumps({"error": str(exc)}))
        ctx.iam.audit("response-plan", actor, str(rid), source, "failure", {"action": action, "error": str(exc)})
        raise ApiError(409, f"the response could not be planned: {exc}") from None
    dry = {"alert": alert.to_dict(), **_outcome(result)}
    _set(ctx, rid, dry_run=json.dumps(dry, default=str))
    ctx.iam.audit("response-plan", actor, str(rid), source, "success",
                  {"action": action, "alert_id": alert_id, "key": alert.key, "counts": dry["counts"]})
    return get(ctx, rid)


def _set(ctx: ServeContext, rid: int, **values: Any) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(R).where(R.c.id == rid).values(**values))


def _claim(ctx: ServeContext, rid: int, before: tuple[str, ...], after: str, **values: Any) -> None:
    """Move ``rid`` from one of ``before`` to ``after`` in one UPDATE (a concurrent second call gets 409)."""
    with ctx.engine.begin() as conn:
        done = conn.execute(update(R).where(R.c.id == rid, R.c.status.in_(before))
                            .values(status=after, **values)).rowcount
        if not done:
            status = conn.execute(select(R.c.status).where(R.c.id == rid)).scalar()
    if not done:
        if status is None:
            raise ApiError(404, f"no response {rid}")
        raise ApiError(409, f"response {rid} is {status}: only a response that is {' or '.join(before)} can "
                            f"become {after}", code="wrong_state")


def decide(ctx: ServeContext, rid: int, approve: bool, actor: str, source: str,
           reason: str | None = None) -> dict[str, Any]:
    now = ctx.iam.clock()
    if approve:
        _claim(ctx, rid, ("planned",), "approved", approved_by=actor, approved_at=now)
    else:
        _claim(ctx, rid, ("planned", "approved"), "rejected", approved_by=actor, approved_at=now,
               result=json.dumps({"rejected": reason or ""}))
    ctx.iam.audit("response-approve" if approve else "response-reject", actor, str(rid), source, "success",
                  {"reason": reason} if reason else {})
    return get(ctx, rid)


def apply(ctx: ServeContext, rid: int, actor: str, source: str) -> dict[str, Any]:
    """Act on an approved plan: the same alert and parameters the approver saw."""
    from cnsec.errors import CnsecError
    from cnsec.respond import alert_from_dict, load_actions

    _claim(ctx, rid, ("approved",), "applying")
    with ctx.engine.connect() as conn:
        row = conn.execute(select(R.c.action, R.c.params, R.c.dry_run).where(R.c.id == rid)).one()
    try:
        alert = alert_from_dict(json.loads(row.dry_run)["alert"])
        params = load_actions()[row.action].validate(json.loads(row.params))
        outcome = _outcome(_run(ctx, alert, row.action, params, True, str(rid)))
        failed = any(d["outcome"] == "failed" for d in outcome["decisions"])
    except (CnsecError, ValueError, KeyError) as exc:
        outcome, failed = {"error": str(exc)}, True
    status = "failed" if failed else "applied"
    _set(ctx, rid, status=status, result=json.dumps(outcome, default=str), applied_at=ctx.iam.clock())
    ctx.iam.audit("response-apply", actor, str(rid), source, "failure" if failed else "success",
                  {"action": row.action, "counts": outcome.get("counts", {})})
    return get(ctx, rid)


COLUMNS = (R.c.id, R.c.alert_id, R.c.action, R.c.params, R.c.status, R.c.dry_run, R.c.result, R.c.created_by,
           R.c.created_at, R.c.approved_by, R.c.approved_at, R.c.applied_at)


def _item(row: Any) -> dict[str, Any]:
    return {"id": row.id, "alert_id": row.alert_id, "action": row.action, "params": json.loads(row.params or "{}"),
            "status": row.status, "dry_run": json.loads(row.dry_run or "{}"),
            "result": json.loads(row.result) if row.result else None, "created_by": row.created_by,
            "created_at": row.created_at, "decided_by": row.approved_by, "decided_at": row.approved_at,
            "applied_at": row.applied_at}


def get(ctx: ServeContext, rid: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(*COLUMNS).where(R.c.id == rid)).first()
    if row is None:
        raise ApiError(404, f"no response {rid}")
    return _item(row)


def list_responses(ctx: ServeContext, status: str | None = None, alert_id: str | None = None,
                   limit: int = pages.DEFAULT_LIMIT, cursor: str | None = None) -> pages.Page:
    """Newest first."""
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status: unknown {status!r} (known: {', '.join(STATUSES)})")
    items, nxt = pages.newest_first(ctx.engine, COLUMNS, R.c.id, {R.c.status: status, R.c.alert_id: alert_id},
                                    limit, cursor)
    return [_item(r) for r in items], nxt
