"""Findings across assessments: their history by fingerprint, the findings list, and triage.

**Fingerprint.** A finding keeps its identity across runs through cnsec's stable finding id
(:func:`cnsec.model.finding.finding_id`: the check, the asset, and the place inside the resource — never a
line number — with file-derived asset ids made relative to the inputs' repository root or common folder,
:func:`cnsec.fsutil.id_base`). The fingerprint is that id hashed to a fixed width, so the same
misconfiguration is the same finding after lines move, files are reordered, or the tarball is unpacked
somewhere else.

**History.** Each assessment of a target sets every fingerprint's status: ``new`` (never seen for this
target), ``unchanged`` (seen in the assessment before and now), ``fixed`` (seen before, absent now),
``reopened`` (fixed before, present again). One ``serve_findings`` row per finding per assessment is the
history; ``serve_finding_states`` is the current state, what the list shows and triage changes.

**Triage.** Suppress (a reason, and an optional expiry after which the finding shows as open again
without anyone touching it), unsuppress, assign, comment. Each change and its IAM audit record are
written in one transaction (the audit chain's own), so there is no triage without its record.

The API id of a finding, ``fid``, is opaque and stable per (target, fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, literal_column, or_, select, update

from cnsec.model.severity import Severity
from cnsec.serve.context import ServeContext
from cnsec.serve.errors import ApiError
from cnsec.serve.services import pages
from cnsec.store import schema

STATUSES = ("new", "unchanged", "fixed", "reopened")
#: the default of the findings list: what is there now (``status=all`` adds the fixed ones)
PRESENT = ("new", "unchanged", "reopened")
TRIAGES = ("open", "suppressed")
TRIAGE_ACTIONS = ("suppress", "unsuppress", "assign")
MAX_BULK = 1000
MAX_REASON = 2000
MAX_COMMENT = 10_000

S = schema.serve_finding_states
F = schema.serve_findings
A = schema.serve_assessments
C = schema.serve_comments


def fingerprint(finding: Mapping[str, Any]) -> str:
    """The stable identity of a finding of a JSON report (see the module docstring)."""
    return hashlib.sha256(str(finding["id"]).encode()).hexdigest()


def make_fid(target: str, fp: str) -> str:
    return hashlib.blake2b(f"{target}\x00{fp}".encode(), digest_size=12).hexdigest()


def _rank(label: str) -> int:
    try:
        return int(Severity.parse(label))
    except ValueError:
        return 0


# -- history ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ImportSummary:
    findings: int = 0
    new: int = 0
    unchanged: int = 0
    reopened: int = 0
    fixed: int = 0
    duplicates: int = 0  # findings of one report sharing a fingerprint: kept once

    def to_dict(self) -> dict[str, int]:
        return {"findings": self.findings, "new": self.new, "unchanged": self.unchanged,
                "reopened": self.reopened, "fixed": self.fixed, "duplicates": self.duplicates}


#: the columns each bulk statement of an import writes, in the order of its rows' values
_HISTORY = ("assessment_id", "fingerprint", "check_id", "severity", "title", "asset", "location", "change", "data")
_NEW_STATE = ("fid", "target", "fingerprint", "check_id", "severity", "rank", "title", "asset", "location", "status",
              "first_seen", "last_seen", "last_assessment_id", "triage")


def _insert(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert straight to the driver: SQLAlchemy's per-row parameter processing cost as much as
    SQLite's own work on 30,000 findings. SQLite: one ``executemany`` (no round trips in-process);
    PostgreSQL: ``COPY`` (multi-row INSERTs of 1,000 rows took 5 s for 30,000 findings, COPY ...)."""
    if not rows:
        return
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - constant names


def _touch(conn: Connection, rows: list[tuple[str, float, int, str]]) -> None:
    """(status, last_seen, last_assessment_id, fid) for each state seen again, in bulk as :func:`_insert`
    (PostgreSQL: COPY into a temporary table, then one UPDATE from it). Only columns no index holds:
    re-assessing 30,000 unchanged findings rewrites no index."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE TEMPORARY TABLE serve_seen (status varchar(16), last_seen float8, "
                             "aid integer, fid varchar(32)) ON COMMIT DROP")
        _insert(conn, "serve_seen", ("status", "last_seen", "aid", "fid"), rows)
        conn.exec_driver_sql("UPDATE serve_finding_states AS s SET status = v.status, last_seen = v.last_seen, "
                             "last_assessment_id = v.aid FROM serve_seen AS v WHERE s.fid = v.fid")
        conn.exec_driver_sql("DROP TABLE serve_seen")
        return
    conn.exec_driver_sql("UPDATE serve_finding_states SET status = ?, last_seen = ?, last_assessment_id = ? "
                         "WHERE fid = ?", rows)


def import_findings(conn: Connection, assessment_id: int, target: str, findings: Iterable[Mapping[str, Any]],
                    now: float) -> ImportSummary:
    """Record one assessment's findings for ``target`` and move every fingerprint's state on.

    Set-based, so 30,000 findings are a few bulk statements: the target's states are read once, the
    history rows and new states inserted with ``executemany``, present states updated likewise, and
    every state not seen in this assessment marked fixed by one UPDATE.

    Imports of one target are serialised, in any process: read-then-write on the same states would
    otherwise insert a fingerprint twice or miss a fix. PostgreSQL: a transaction-scoped advisory lock
    on the target; SQLite: the caller's transaction has written already (it holds the one write lock).
    """
    import orjson

    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"cnsec-serve-target\x00{target}".encode(), digest_size=8).digest(),
                             "big", signed=True)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))

    known = {fp: (status, severity, title) for fp, status, severity, title in conn.execute(
        select(S.c.fingerprint, S.c.status, S.c.severity, S.c.title).where(S.c.target == target))}
    summary = ImportSummary()
    history: list[tuple[Any, ...]] = []
    fresh: list[tuple[Any, ...]] = []
    seen: list[tuple[str, float, int, str]] = []
    reworded: list[tuple[Any, ...]] = []
    present: set[str] = set()
    for finding in findings:
        fp = fingerprint(finding)
        if fp in present:
            summary.duplicates += 1
            continue
        present.add(fp)
        before = known.get(fp)
        change = "new" if before is None else "reopened" if before[0] == "fixed" else "unchanged"
        setattr(summary, change, getattr(summary, change) + 1)
        label = str(finding.get("severity", "info"))[:16]
        check, title = str(finding.get("check_id", ""))[:64], str(finding.get("title", ""))
        asset, location = str(finding.get("asset_id", ""))[:512], str(finding.get("location") or "")[:1024]
        history.append((assessment_id, fp, check, label, title, asset, location, change,
                        orjson.dumps(finding).decode()))
        fid = make_fid(target, fp)
        if before is None:
            fresh.append((fid, target, fp, check, label, _rank(label), title, asset, location, change, now, now,
                          assessment_id, "open"))
            continue
        seen.append((change, now, assessment_id, fid))
        if before[1:] != (label, title):  # the check was re-rated or renamed since: rare
            reworded.append((label, _rank(label), title, fid))
    summary.findings = len(history)
    fresh.sort()  # in primary-key order
    _insert(conn, F.name, _HISTORY, history)
    _insert(conn, S.name, _NEW_STATE, fresh)
    _touch(conn, seen)
    if reworded:
        conn.execute(update(S).where(S.c.fid == bindparam("f")).values(
            severity=bindparam("s"), rank=bindparam("r"), title=bindparam("t")),
            [{"s": s, "r": r, "t": t, "f": f} for s, r, t, f in reworded])
    gone = conn.execute(update(S).where(and_(S.c.target == target, S.c.status != "fixed",
                                             S.c.last_assessment_id != assessment_id))
                        .values(status="fixed", last_assessment_id=assessment_id))
    summary.fixed = gone.rowcount or 0
    return summary


# -- the list -----------------------------------------------------------------------------------------

#: sort name -> column; "-name" sorts descending. Ties are broken by fid, so the order is total; each
#: has an index on (column, fid) in the schema, so a page at row 100,000 costs what the first does.
#: (No sort by last_seen: every present finding of a target has the same, and its index would be
#: rewritten for every finding at every import.)
SORTS: dict[str, Any] = {
    "severity": S.c.rank, "first_seen": S.c.first_seen, "asset": S.c.asset, "check": S.c.check_id,
}
DEFAULT_SORT = "-severity"


@dataclass(frozen=True, slots=True)
class FindingQuery:
    """The findings list's filters (each optional; lists are comma-separated in the API)."""

    target: str | None = None
    severity: tuple[str, ...] = ()
    status: tuple[str, ...] = PRESENT
    triage: str | None = None
    assignee: str | None = None  # "-" = unassigned
    q: str | None = None
    sort: str = DEFAULT_SORT
    limit: int = pages.DEFAULT_LIMIT
    cursor: str | None = None


def split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def query(target: str | None = None, severity: str | None = None, status: str | None = None,
          triage: str | None = None, assignee: str | None = None, q: str | None = None,
          sort: str | None = None, limit: int = pages.DEFAULT_LIMIT, cursor: str | None = None) -> FindingQuery:
    """A :class:`FindingQuery` from the API's text parameters, each checked (400 names the bad one)."""
    sev = split(severity)
    for s in sev:
        try:
            Severity.parse(s)
        except ValueError as exc:
            raise ApiError(400, f"severity: {exc}") from None
    statuses = split(status)
    if statuses == ("all",):
        statuses = STATUSES
    elif not statuses:
        statuses = PRESENT
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise ApiError(400, f"status: unknown {bad[0]!r} (known: {', '.join(STATUSES)}, all)")
    if triage is not None and triage not in TRIAGES:
        raise ApiError(400, f"triage: unknown {triage!r} (known: {', '.join(TRIAGES)})")
    sort = sort or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        raise ApiError(400, f"sort: unknown {sort!r} (known: {', '.join(SORTS)}, each optionally with a '-' "
                            "before it for descending)")
    return FindingQuery(target or None, tuple(s.lower() for s in sev), statuses, triage, assignee or None,
                        q or None, sort, pages.check_limit(limit), cursor or None)


def _suppressed_now(now: float) -> Any:
    """A suppression counts until its expiry; after it the finding is open again, with no write."""
    return and_(S.c.triage == "suppressed", or_(S.c.suppressed_until.is_(None), S.c.suppressed_until > now))


COLUMNS = (S.c.fid, S.c.target, S.c.check_id, S.c.severity, S.c.rank, S.c.title, S.c.asset, S.c.location,
           S.c.status, S.c.triage, S.c.suppressed_until, S.c.suppress_reason, S.c.assignee, S.c.first_seen,
           S.c.last_seen, S.c.last_assessment_id)


def _item(row: Any, now: float) -> dict[str, Any]:
    suppressed = row.triage == "suppressed" and (row.suppressed_until is None or row.suppressed_until > now)
    return {"fid": row.fid, "target": row.target, "check_id": row.check_id, "severity": row.severity,
            "title": row.title, "asset": row.asset, "location": row.location, "status": row.status,
            "triage": "suppressed" if suppressed else "open",
            "suppressed_until": row.suppressed_until if suppressed else None,
            "suppress_reason": row.suppress_reason if suppressed else None,
            "suppression_expired": row.triage == "suppressed" and not suppressed,
            "assignee": row.assignee, "first_seen": row.first_seen, "last_seen": row.last_seen,
            "last_assessment_id": row.last_assessment_id}


def _text_match(ctx: ServeContext, text: str) -> Any:
    """``text`` in the title, asset, check or location, any case. SQLite's LIKE ignores ASCII case by
    itself (lower() on four columns of every row doubled the cost of a search that matches little);
    PostgreSQL's needs ILIKE. Wildcards in ``text`` are escaped: it is text, not a pattern."""
    pattern = "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    columns = (S.c.title, S.c.asset, S.c.check_id, S.c.location)
    if ctx.engine.dialect.name == "sqlite" and text.isascii():
        return or_(*(c.like(pattern, escape="/") for c in columns))
    return or_(*(func.lower(c).like(pattern.lower(), escape="/") for c in columns))


def list_findings(ctx: ServeContext, fq: FindingQuery) -> pages.Page:
    """One page of findings and the cursor of the next (keyset: see :mod:`.pages`)."""
    now = ctx.iam.clock()
    name = fq.sort.lstrip("-")
    order = pages.Order(fq.sort, SORTS[name], S.c.fid, fq.sort.startswith("-"))
    stmt = select(*COLUMNS)
    conds: list[Any] = [S.c.status.in_(fq.status)] if set(fq.status) != set(STATUSES) else []
    if fq.target and name != "severity" and ctx.engine.dialect.name == "sqlite":
        # SQLite's planner (no histograms) takes the target's index and sorts all its findings (0.2 s for
        # 70,000); "+target" is not indexable, so the order's own index is walked and the target checked
        # on the way: no sort, and a page of a target holding 0.5% of the rows still reads ~10,000
        conds.append(literal_column("+serve_finding_states.target") == fq.target)
    elif fq.target:
        conds.append(S.c.target == fq.target)
    if fq.severity and name == "severity":  # the index (rank, fid) serves the filter and the order at once
        conds.append(S.c.rank.in_(sorted({_rank(s) for s in fq.severity})))
    elif fq.severity:  # checked on the way along the order's own index (not sorting all that match)
        conds.append(S.c.severity.in_(fq.severity))
    if fq.triage == "suppressed":
        conds.append(_suppressed_now(now))
    elif fq.triage == "open":
        conds.append(~_suppressed_now(now))
    if fq.assignee == "-":
        conds.append(S.c.assignee.is_(None))
    elif fq.assignee:
        conds.append(S.c.assignee == fq.assignee)
    if fq.q:
        conds.append(_text_match(ctx, fq.q))
    after = order.after(fq.cursor)
    if after is not None:
        conds.append(after)
    stmt = stmt.where(*conds).order_by(*order.clauses()).limit(fq.limit + 1)
    with ctx.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    col = SORTS[name].name
    items, nxt = pages.page(rows, fq.limit, fq.sort, lambda r: (getattr(r, col), r.fid))
    return [_item(r, now) for r in items], nxt


def counts(ctx: ServeContext, target: str | None = None) -> dict[str, dict[str, int]]:
    """Present findings by severity and by status, and how many are suppressed now (overview pages)."""
    now = ctx.iam.clock()
    where = [S.c.target == target] if target else []
    with ctx.engine.connect() as conn:
        by = conn.execute(select(S.c.status, S.c.severity, func.count(),
                                 func.sum(case((_suppressed_now(now), 1), else_=0)))
                          .where(*where).group_by(S.c.status, S.c.severity)).all()
    out: dict[str, dict[str, int]] = {"by_severity": {}, "by_status": {}, "triage": {"open": 0, "suppressed": 0}}
    for status, severity, n, suppressed in by:
        out["by_status"][status] = out["by_status"].get(status, 0) + n
        if status != "fixed":
            out["by_severity"][severity] = out["by_severity"].get(severity, 0) + n
            out["triage"]["suppressed"] += int(suppressed or 0)
            out["triage"]["open"] += n - int(suppressed or 0)
    return out


# -- one finding --------------------------------------------------------------------------------------

def _state(conn: Connection, fid: str) -> Any:
    row = conn.execute(select(*COLUMNS, S.c.fingerprint).where(S.c.fid == fid)).first()
    if row is None:
        raise ApiError(404, f"no finding {fid!r}")
    return row


def get_finding(ctx: ServeContext, fid: str, history_limit: int = 100) -> dict[str, Any]:
    """The finding's state, its latest full record, its history over the target's assessments (absent
    after present = fixed), and its comments."""
    now = ctx.iam.clock()
    with ctx.engine.connect() as conn:
        row = _state(conn, fid)
        seen = {aid: (change, data) for aid, change, data in conn.execute(
            select(F.c.assessment_id, F.c.change, F.c.data).join(A, A.c.id == F.c.assessment_id)
            .where(A.c.target == row.target, F.c.fingerprint == row.fingerprint))}
        runs = conn.execute(select(A.c.id, A.c.created_at).where(A.c.target == row.target, A.c.status == "done",
                                                                 A.c.id >= min(seen, default=0))
                            .order_by(A.c.id.desc()).limit(history_limit)).all()
        notes = conn.execute(select(C.c.id, C.c.author, C.c.created_at, C.c.text)
                             .where(C.c.kind == "finding", C.c.ref == fid).order_by(C.c.id)).all()
    history: list[dict[str, Any]] = []
    was_present = False
    for aid, at in reversed(runs):
        if aid in seen:
            history.append({"assessment_id": aid, "at": at, "change": seen[aid][0]})
            was_present = True
        elif was_present:
            history.append({"assessment_id": aid, "at": at, "change": "fixed"})
            was_present = False
    latest = json.loads(seen[max(seen)][1]) if seen else None
    return {**_item(row, now), "finding": latest, "history": history,
            "comments": [{"id": n.id, "author": n.author, "at": n.created_at, "text": n.text} for n in notes]}


# -- triage -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Triage:
    """One triage decision, for one finding or many."""

    action: str  # suppress | unsuppress | assign
    reason: str | None = None
    until: float | None = None
    assignee: str | None = None


def _check(ctx: ServeContext, conn: Connection, t: Triage, now: float) -> None:
    if t.action not in TRIAGE_ACTIONS:
        raise ApiError(400, f"action: unknown {t.action!r} (known: {', '.join(TRIAGE_ACTIONS)})")
    if t.action == "suppress":
        if not (t.reason or "").strip():
            raise ApiError(400, "a suppression needs a reason")
        if len(t.reason or "") > MAX_REASON:
            raise ApiError(400, f"the reason is longer than {MAX_REASON} characters")
        if t.until is not None and t.until <= now:
            raise ApiError(400, "'until' is in the past: a suppression expires in the future")
    if t.action == "assign" and t.assignee:
        known = conn.execute(select(schema.users.c.username).where(schema.users.c.username == t.assignee)).first()
        if known is None:
            raise ApiError(400, f"no user {t.assignee!r} to assign to")


def triage(ctx: ServeContext, fids: Sequence[str], t: Triage, actor: str, source: str) -> list[dict[str, Any]]:
    """Apply ``t`` to every finding in ``fids`` (all or none: an unknown id changes nothing) and write
    one IAM audit record per finding, in the same transaction as the change."""
    fids = list(dict.fromkeys(fids))
    if not fids:
        raise ApiError(400, "no finding ids given")
    if len(fids) > MAX_BULK:
        raise ApiError(400, f"at most {MAX_BULK} findings at a time")
    now = ctx.iam.clock()
    values: dict[str, Any]
    if t.action == "suppress":
        values = {"triage": "suppressed", "suppress_reason": (t.reason or "").strip(), "suppressed_until": t.until}
    elif t.action == "unsuppress":
        values = {"triage": "open", "suppress_reason": None, "suppressed_until": None}
    else:
        values = {"assignee": t.assignee or None}
    with ctx.iam.transaction() as conn:
        _check(ctx, conn, t, now)
        rows = conn.execute(select(S.c.fid, S.c.target, S.c.check_id, S.c.asset).where(S.c.fid.in_(fids))).all()
        found = {r.fid: r for r in rows}
        missing = [f for f in fids if f not in found]
        if missing:
            raise ApiError(404, f"no finding {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                                 if len(missing) > 1 else "") + "; nothing changed")
        conn.execute(update(S).where(S.c.fid.in_(fids)).values(**values))
        detail = {k: v for k, v in (("reason", values.get("suppress_reason")), ("until", t.until),
                                    ("assignee", t.assignee)) if v is not None}
        for fid in fids:
            r = found[fid]
            ctx.iam.audit_in(conn, f"finding-{t.action}", actor, fid, source, "success",
                           {"target": r.target, "check_id": r.check_id, "asset": r.asset, **detail,
                            **({"bulk": len(fids)} if len(fids) > 1 else {})})
        out = conn.execute(select(*COLUMNS).where(S.c.fid.in_(fids))).all()
    order = {f: i for i, f in enumerate(fids)}
    return sorted((_item(r, now) for r in out), key=lambda i: order[i["fid"]])


def comment(ctx: ServeContext, fid: str, text: str, actor: str, source: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise ApiError(400, "a comment needs text")
    if len(text) > MAX_COMMENT:
        raise ApiError(400, f"a comment is at most {MAX_COMMENT} characters")
    now = ctx.iam.clock()
    with ctx.iam.transaction() as conn:
        row = _state(conn, fid)
        cid = conn.execute(insert(C).values(kind="finding", ref=fid, author=actor, created_at=now, text=text)
                           .returning(C.c.id)).scalar_one()
        ctx.iam.audit_in(conn, "finding-comment", actor, fid, source, "success",
                       {"target": row.target, "check_id": row.check_id, "comment": cid, "chars": len(text)})
    return {"id": cid, "author": actor, "at": now, "text": text}
