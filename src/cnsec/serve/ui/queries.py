"""What the dashboard shows, read from the serve tables — read only: every change goes through the API.

Risks, the plan and the asset inventory live in each assessment's stored report (gzip-compressed JSON);
a finished assessment's report never changes, so a few recent ones are kept parsed in memory.
"""

from __future__ import annotations

import functools
import gzip
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from cnsec.store import schema

SEVERITIES = ("critical", "high", "medium", "low", "info")
LEVELS = ("critical", "high", "medium", "low")
#: the sort orders the findings page offers: name -> columns (the first descending where it says so)
FINDING_SORTS = ("severity", "last_seen", "first_seen", "asset", "check")
PAGE_SIZE = 100


def _json(text: str | bytes | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return default


# -- assessments and their reports ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Assessment:
    id: int
    target: str
    status: str
    created_at: float
    created_by: str
    finished_at: float | None
    summary: dict[str, Any]
    error: str | None


def _assessment(row: Any) -> Assessment:
    return Assessment(row.id, row.target, row.status, row.created_at, row.created_by, row.finished_at,
                      _json(row.summary, {}), row.error)


def assessments(engine: Engine, limit: int = 50) -> list[Assessment]:
    """The newest first."""
    t = schema.serve_assessments
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.target, t.c.status, t.c.created_at, t.c.created_by, t.c.finished_at,
                                   t.c.summary, t.c.error).order_by(t.c.id.desc()).limit(limit)).all()
    return [_assessment(r) for r in rows]


def latest_per_target(engine: Engine) -> list[Assessment]:
    """The newest finished assessment of each target, by target name: what the present looks like."""
    t = schema.serve_assessments
    newest = (select(t.c.target, func.max(t.c.id).label("id")).where(t.c.status == "done")
              .group_by(t.c.target).subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.target, t.c.status, t.c.created_at, t.c.created_by, t.c.finished_at,
                                   t.c.summary, t.c.error).join(newest, newest.c.id == t.c.id)
                            .order_by(t.c.target)).all()
    return [_assessment(r) for r in rows]


#: parsed reports kept for the pages that show one whole (assets, risks, plan): few, they can be large
REPORTS_KEPT = 4


@functools.lru_cache(maxsize=REPORTS_KEPT)
def _report(engine: Engine, assessment_id: int) -> Mapping[str, Any]:
    t = schema.serve_assessments
    with engine.connect() as conn:
        blob = conn.execute(select(t.c.report).where((t.c.id == assessment_id) & (t.c.status == "done"))).scalar()
    if not blob:
        return {}
    try:
        parsed = orjson.loads(gzip.decompress(blob))
    except (OSError, orjson.JSONDecodeError, EOFError):
        return {"errors": [{"message": "the stored report cannot be read"}]}
    return parsed if isinstance(parsed, dict) else {}


def report(engine: Engine, assessment_id: int) -> Mapping[str, Any]:
    """The report of a finished assessment (empty when it has none); shared, not to be changed."""
    return _report(engine, assessment_id)


def _reports(engine: Engine, target: str | None) -> list[tuple[Assessment, Mapping[str, Any]]]:
    return [(a, report(engine, a.id)) for a in latest_per_target(engine) if target in (None, "", a.target)]


@dataclass(frozen=True, slots=True)
class AssetRisk:
    target: str
    asset: str
    score: int  # the highest of the asset's risks
    level: str
    risks: int


@dataclass(frozen=True, slots=True)
class Digest:
    """What the overview needs of one assessment's report: small, so many are kept."""

    total: int  # the sum of every risk's score
    by_level: dict[str, int]
    assets: tuple[AssetRisk, ...]


@functools.lru_cache(maxsize=1024)
def digest(engine: Engine, assessment_id: int, target: str) -> Digest:
    risks = report(engine, assessment_id).get("risks") or []
    best: dict[str, tuple[int, str]] = {}
    count: Counter[str] = Counter()
    for r in risks:
        asset, score = str(r.get("asset_id", "")), int(r.get("score", 0))
        count[asset] += 1
        if asset not in best or score > best[asset][0]:
            best[asset] = (score, str(r.get("level", "low")))
    return Digest(sum(int(r.get("score", 0)) for r in risks), dict(Counter(str(r.get("level", "low")) for r in risks)),
                  tuple(AssetRisk(target, asset, sc, lv, count[asset]) for asset, (sc, lv) in best.items()))


# -- overview --------------------------------------------------------------------------------------

def risk_by_asset(engine: Engine, limit: int = 12) -> list[AssetRisk]:
    """The assets with the highest risk in the present assessments (highest first)."""
    out = [r for a in latest_per_target(engine) for r in digest(engine, a.id, a.target).assets]
    out.sort(key=lambda x: (-x.score, x.target, x.asset))
    return out[:limit]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    assessment_id: int
    target: str
    at: float
    total: int  # the sum of every risk's score
    by_level: dict[str, int]


def risk_trend(engine: Engine, limit: int = 20) -> list[TrendPoint]:
    """The last ``limit`` finished assessments, oldest first, with their summed risk."""
    t = schema.serve_assessments
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.target, t.c.finished_at, t.c.created_at).where(t.c.status == "done")
                            .order_by(t.c.id.desc()).limit(limit)).all()
    out = []
    for row in reversed(rows):
        d = digest(engine, row.id, row.target)
        out.append(TrendPoint(row.id, row.target, row.finished_at or row.created_at, d.total, d.by_level))
    return out


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def alerts_per_day(engine: Engine, days: int = 14) -> list[DayCount]:
    """Alerts by the day they were first seen, for the ``days`` days up to the newest alert's (so a store of
    past incidents still shows them), each split by severity."""
    t = schema.serve_alerts
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(t.c.first_seen))).scalar()
        end = datetime.fromtimestamp(newest, UTC).date() if newest else datetime.now(UTC).date()
        start = end - timedelta(days=days - 1)
        since = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
        rows = conn.execute(select(t.c.first_seen, t.c.severity).where(t.c.first_seen >= since)).all()
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for first_seen, severity in rows:
        counts[datetime.fromtimestamp(first_seen, UTC).date()][severity] += 1
    return [DayCount(start + timedelta(days=i), dict(counts.get(start + timedelta(days=i), {})))
            for i in range(days)]


@dataclass(frozen=True, slots=True)
class Totals:
    findings: dict[str, int]  # open (not fixed, not suppressed) findings by severity
    alerts_open: int
    responses_waiting: int  # planned, waiting for approval
    assessments: int


def totals(engine: Engine) -> Totals:
    f, al, r, a = schema.serve_finding_states, schema.serve_alerts, schema.serve_responses, schema.serve_assessments
    with engine.connect() as conn:
        by_sev: dict[str, int] = dict(conn.execute(select(f.c.severity, func.count()).where(
            (f.c.status != "fixed") & ~_suppressed(time.time())).group_by(f.c.severity)).all())
        alerts_open = conn.execute(select(func.count()).select_from(al).where(al.c.status == "open")).scalar() or 0
        waiting = conn.execute(select(func.count()).select_from(r).where(r.c.status == "planned")).scalar() or 0
        n_assessments = conn.execute(select(func.count()).select_from(a)).scalar() or 0
    return Totals({s: int(by_sev.get(s, 0)) for s in SEVERITIES}, int(alerts_open), int(waiting), int(n_assessments))


def _suppressed(now: float) -> Any:
    """A suppression holds until its expiry; an expired one is open again (as the API reads it)."""
    t = schema.serve_finding_states
    return and_(t.c.triage == "suppressed", or_(t.c.suppressed_until.is_(None), t.c.suppressed_until > now))


# -- findings -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FindingFilter:
    target: str = ""
    severity: str = ""
    status: str = ""
    triage: str = ""
    assignee: str = ""
    q: str = ""
    sort: str = "severity"
    page: int = 1

    def active(self) -> dict[str, str]:
        """The filter as query parameters (for links that keep it)."""
        values = {"target": self.target, "severity": self.severity, "status": self.status, "triage": self.triage,
                  "assignee": self.assignee, "q": self.q, "sort": self.sort}
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "severity")}


@dataclass(frozen=True, slots=True)
class FindingsPage:
    rows: list[Any]
    total: int
    page: int
    pages: int
    targets: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def findings(engine: Engine, flt: FindingFilter) -> FindingsPage:
    t = schema.serve_finding_states
    cond = []
    if flt.target:
        cond.append(t.c.target == flt.target)
    if flt.severity:
        cond.append(t.c.severity == flt.severity)
    if flt.status == "present":
        cond.append(t.c.status != "fixed")
    elif flt.status:
        cond.append(t.c.status == flt.status)
    if flt.triage in ("open", "suppressed"):
        suppressed = _suppressed(time.time())
        cond.append(suppressed if flt.triage == "suppressed" else ~suppressed)
    if flt.assignee:
        cond.append(t.c.assignee == flt.assignee)
    if flt.q:
        like = f"%{_escape_like(flt.q)}%"
        cond.append(or_(*(c.ilike(like, escape="\\") for c in (t.c.title, t.c.asset, t.c.check_id, t.c.location))))
    where = and_(True, *cond)
    orders: dict[str, list[Any]] = {
        "severity": [t.c.rank.desc(), t.c.last_seen.desc()], "last_seen": [t.c.last_seen.desc()],
        "first_seen": [t.c.first_seen.desc()], "asset": [t.c.asset, t.c.rank.desc()],
        "check": [t.c.check_id, t.c.asset]}
    order = orders.get(flt.sort) or orders["severity"]
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(where)).scalar() or 0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, flt.page), pages)
        rows = conn.execute(select(t).where(where).order_by(*order, t.c.fid)
                            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        targets = [r[0] for r in conn.execute(select(t.c.target).distinct().order_by(t.c.target))]
        assignees = [r[0] for r in conn.execute(select(t.c.assignee).where(t.c.assignee.is_not(None))
                                                .distinct().order_by(t.c.assignee))]
    return FindingsPage(list(rows), total, page, pages, targets, assignees)


# -- the present assessment of each target: assets, risks, plan ---------------------------------------

@dataclass(frozen=True, slots=True)
class Inventory:
    target: str
    assessment: Assessment
    assets: list[dict[str, Any]]  # each with "findings" (by severity) and "risk" (highest score) added


def inventory(engine: Engine, target: str | None = None) -> list[Inventory]:
    out = []
    for a, rep in _reports(engine, target):
        by_asset: dict[str, Counter[str]] = defaultdict(Counter)
        for f in rep.get("findings") or []:
            if not f.get("suppressed"):
                by_asset[str(f.get("asset_id", ""))][str(f.get("severity", "info"))] += 1
        top: dict[str, int] = {}
        for r in rep.get("risks") or []:
            asset = str(r.get("asset_id", ""))
            top[asset] = max(top.get(asset, 0), int(r.get("score", 0)))
        assets = [{**asset, "findings": dict(by_asset.get(str(asset.get("id")), {})),
                   "risk": top.get(str(asset.get("id")), 0)} for asset in rep.get("assets") or []]
        assets.sort(key=lambda x: (-x["risk"], str(x.get("id"))))
        out.append(Inventory(a.target, a, assets))
    return out


@dataclass(frozen=True, slots=True)
class Register:
    target: str
    assessment: Assessment
    risks: list[dict[str, Any]]  # each with "threat" (the threat's name) added
    plan: list[dict[str, Any]]


def register(engine: Engine, target: str | None = None) -> list[Register]:
    out = []
    for a, rep in _reports(engine, target):
        threats = {str(t.get("id")): str(t.get("name", t.get("id"))) for t in rep.get("threats") or []}
        risks = sorted(({**r, "threat": threats.get(str(r.get("threat_id")), str(r.get("threat_id", "")))}
                        for r in rep.get("risks") or []), key=lambda r: -int(r.get("score", 0)))
        plan = sorted(rep.get("plan") or [], key=lambda p: int(p.get("rank", 0)))
        out.append(Register(a.target, a, risks, plan))
    return out


# -- alerts and responses -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    rule: str
    title: str
    severity: str
    key: str
    first_seen: float
    last_seen: float
    count: int
    status: str
    assignee: str | None
    data: dict[str, Any]


def alerts(engine: Engine, status: str = "", severity: str = "", limit: int = 200) -> list[AlertRow]:
    """Newest activity first."""
    t = schema.serve_alerts
    cond = [t.c.status == status] if status else []
    if severity:
        cond.append(t.c.severity == severity)
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.rule, t.c.title, t.c.severity, t.c.key, t.c.first_seen, t.c.last_seen,
                                   t.c.count, t.c.status, t.c.assignee, t.c.data).where(and_(True, *cond))
                            .order_by(t.c.last_seen.desc(), t.c.id).limit(limit)).all()
    return [AlertRow(*r[:10], _json(r.data, {})) for r in rows]


@dataclass(frozen=True, slots=True)
class ResponseRow:
    id: int
    alert_id: str | None
    action: str
    params: dict[str, Any]
    status: str
    dry_run: str
    result: str | None
    created_by: str
    created_at: float
    approved_by: str | None
    approved_at: float | None
    applied_at: float | None


def responses(engine: Engine, status: str = "", limit: int = 200) -> list[ResponseRow]:
    """Newest first."""
    t = schema.serve_responses
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.alert_id, t.c.action, t.c.params, t.c.status, t.c.dry_run, t.c.result,
                                   t.c.created_by, t.c.created_at, t.c.approved_by, t.c.approved_at, t.c.applied_at)
                            .where(t.c.status == status if status else and_(True))
                            .order_by(t.c.id.desc()).limit(limit)).all()
    return [ResponseRow(r.id, r.alert_id, r.action, _json(r.params, {}), r.status, r.dry_run, r.result, r.created_by,
                        r.created_at, r.approved_by, r.approved_at, r.applied_at) for r in rows]
