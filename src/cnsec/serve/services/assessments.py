"""Assessments: run the assess pillar on an uploaded tarball or a server-side folder, in a worker thread,
and keep the report (gzip-compressed) and its findings' history.

An assessment is a row that goes ``running`` → ``done`` | ``failed``. The run is the same as
``cnsec assess PATH -f json`` (its ``.cnsec.yaml``, suppressions, Helm rendering of a server-side
folder), one at a time per server process: the assess engine keeps per-run state in its module, and a
second assessment beside it would compete for the same two cores anyway. File paths in the stored
report are relative to what was assessed, so no temporary folder name leaks into reports or fingerprints.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from typing import Any

from sqlalchemy import func, insert, select, update

from cnsec.serve.context import ServeContext
from cnsec.serve.errors import ApiError
from cnsec.serve.services import findings, pages
from cnsec.store import schema

A = schema.serve_assessments
MAX_TARGET = 512
#: gzip level of stored reports: 6 is 3x slower than 1 for 10% less (a 30,000-finding report: 0.4 s)
GZIP_LEVEL = 1
_RUN_LOCK = threading.Lock()  # one assessment at a time per process (see the module docstring)


def check_target(target: str) -> str:
    target = (target or "").strip()
    if not target or len(target) > MAX_TARGET or any(ord(c) < 32 for c in target):
        raise ApiError(400, f"target: give a name of 1 to {MAX_TARGET} printable characters")
    return target


def server_path(ctx: ServeContext, path: str) -> str:
    """``path`` resolved, if it lies under one of the configured roots; 403 otherwise (or none set)."""
    roots = [os.path.realpath(r) for r in ctx.settings.assess_roots]
    if not roots:
        raise ApiError(403, "this server assesses no server-side paths (no assess_roots configured); "
                            "upload a tarball instead", code="path_not_allowed")
    real = os.path.realpath(path) if path and "\x00" not in path else ""
    if not real or not any(os.path.commonpath([real, r]) == r for r in roots):
        raise ApiError(403, "the path is not under a folder this server may assess", code="path_not_allowed")
    if not os.path.exists(real):
        raise ApiError(400, "the path does not exist on the server")
    return real


def create(ctx: ServeContext, target: str, source: str, actor: str) -> int:
    now = ctx.iam.clock()
    with ctx.engine.begin() as conn:
        aid: int = conn.execute(insert(A).values(target=target, source=source, status="running", created_at=now,
                                                 created_by=actor, summary="{}").returning(A.c.id)).scalar_one()
    return aid


def run(ctx: ServeContext, aid: int, target: str, path: str, *, render: bool = True,
        cleanup: str | None = None) -> None:
    """Assess ``path`` and store the outcome under assessment ``aid`` (blocking; never raises)."""
    try:
        with _RUN_LOCK:
            doc = _assess(path, render)
            store(ctx, aid, target, doc, base=path)
    except Exception as exc:  # a failed assessment is an outcome to show, not a crash of the server
        from cnsec.errors import CnsecError

        message = str(exc) if isinstance(exc, CnsecError) else f"{type(exc).__name__}: internal error"
        fail(ctx, aid, message.replace(path, "."))
        if not isinstance(exc, CnsecError):
            import logging

            logging.getLogger("cnsec.serve").error("assessment %s failed", aid, exc_info=exc)
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)


def start(ctx: ServeContext, aid: int, target: str, path: str, *, render: bool = True,
          cleanup: str | None = None) -> threading.Thread:
    """:func:`run` in a worker thread (the request answers 202 at once)."""
    thread = threading.Thread(target=run, args=(ctx, aid, target, path), name=f"cnsec-assess-{aid}",
                              kwargs={"render": render, "cleanup": cleanup}, daemon=True)
    ctx.parts.setdefault("assessments", {})[aid] = thread
    thread.start()
    return thread


def _assess(path: str, render: bool) -> dict[str, Any]:
    from cnsec.assess import assess, find_config
    from cnsec.report.json_report import to_dict

    render_options = None
    if render:
        from cnsec.k8s.render.helm import HelmOptions

        render_options = HelmOptions()
    report = assess([path], find_config([path], None), workers=1, snippets=False, render=render_options)
    return to_dict(report)


def _relative(doc: dict[str, Any], base: str, target: str) -> dict[str, Any]:
    """The report with ``base`` (a temporary or server folder) cut from every path in it."""
    import orjson

    prefix = base.rstrip("/").encode()
    raw = orjson.dumps(doc).replace(prefix + b"/", b"").replace(b'"' + prefix + b'"', b'"."')
    out: dict[str, Any] = orjson.loads(raw)
    out["target"] = target
    return out


def store(ctx: ServeContext, aid: int, target: str, doc: dict[str, Any], *, base: str | None = None) -> dict[str, Any]:
    """Keep a finished assessment: its report (gzip), its findings' history and the target's states.
    One transaction: a reader sees the assessment done with its findings, or running without."""
    import orjson

    if base:
        doc = _relative(doc, base, target)
    packed = gzip.compress(orjson.dumps(doc), GZIP_LEVEL, mtime=0)
    now = ctx.iam.clock()
    summary: dict[str, Any] = dict(doc.get("summary") or {})
    with ctx.engine.begin() as conn:
        # a write first: on SQLite it takes the database's write lock before the target's states are read
        conn.execute(update(A).where(A.c.id == aid).values(report=packed))
        imported = findings.import_findings(conn, aid, target, doc.get("findings") or [], now)
        summary.update(changes=imported.to_dict(), errors=len(doc.get("errors") or []),
                       skipped=len(doc.get("skipped") or []))
        conn.execute(update(A).where(A.c.id == aid).values(
            status="done", finished_at=ctx.iam.clock(), summary=orjson.dumps(summary).decode()))
    return summary


def fail(ctx: ServeContext, aid: int, message: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(A).where(A.c.id == aid).values(status="failed", finished_at=ctx.iam.clock(),
                                                           error=message[:4000]))


def interrupted(ctx: ServeContext) -> int:
    """Assessments left running by a server that stopped: failed, saying so (at start)."""
    with ctx.engine.begin() as conn:
        result = conn.execute(update(A).where(A.c.status == "running").values(
            status="failed", finished_at=ctx.iam.clock(), error="interrupted: the server stopped during the run"))
    return result.rowcount or 0


# -- reading ------------------------------------------------------------------------------------------

COLUMNS = (A.c.id, A.c.target, A.c.source, A.c.status, A.c.created_at, A.c.created_by, A.c.finished_at,
           A.c.summary, A.c.error)


def _item(row: Any) -> dict[str, Any]:
    import orjson

    return {"id": row.id, "target": row.target, "source": row.source, "status": row.status,
            "created_at": row.created_at, "created_by": row.created_by, "finished_at": row.finished_at,
            "summary": orjson.loads(row.summary or "{}"), "error": row.error}


def list_assessments(ctx: ServeContext, target: str | None = None, status: str | None = None,
                     limit: int = pages.DEFAULT_LIMIT, cursor: str | None = None) -> pages.Page:
    """Newest first."""
    items, nxt = pages.newest_first(ctx.engine, COLUMNS, A.c.id, {A.c.target: target, A.c.status: status},
                                    limit, cursor)
    return [_item(r) for r in items], nxt


def get(ctx: ServeContext, aid: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(*COLUMNS).where(A.c.id == aid)).first()
    if row is None:
        raise ApiError(404, f"no assessment {aid}")
    return _item(row)


def report_gz(ctx: ServeContext, aid: int) -> bytes:
    """The stored report, still compressed (sent as is to a client that accepts gzip)."""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(A.c.status, A.c.report).where(A.c.id == aid)).first()
    if row is None:
        raise ApiError(404, f"no assessment {aid}")
    if row.status != "done" or row.report is None:
        raise ApiError(409, f"assessment {aid} is {row.status}: it has no report", code="not_ready")
    return bytes(row.report)


def report(ctx: ServeContext, aid: int) -> dict[str, Any]:
    import orjson

    doc: dict[str, Any] = orjson.loads(gzip.decompress(report_gz(ctx, aid)))
    return doc


def section(ctx: ServeContext, aid: int, name: str) -> list[Any]:
    """``risks`` or ``plan`` of the stored report."""
    value = report(ctx, aid).get(name) or []
    return list(value)


def latest_done(ctx: ServeContext, target: str) -> int | None:
    with ctx.engine.connect() as conn:
        aid: int | None = conn.execute(select(func.max(A.c.id)).where(A.c.target == target,
                                                                     A.c.status == "done")).scalar()
    return aid


def wait(ctx: ServeContext, aid: int, timeout: float = 120.0) -> dict[str, Any]:
    """Block until the worker of ``aid`` (started here) has finished; the assessment as stored."""
    thread: threading.Thread | None = ctx.parts.get("assessments", {}).get(aid)
    if thread is not None:
        thread.join(timeout)
    return get(ctx, aid)

