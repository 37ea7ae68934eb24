"""Findings: the list over every assessed target (filters, sort, keyset pages), one finding with its
history and comments, and triage. The work is :mod:`cnsec.serve.services.findings`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from cnsec.serve.auth import Principal, client_address, require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.services import findings as svc
from cnsec.serve.services import pages

router = APIRouter(prefix="/v1/findings", tags=["findings"])


def epoch(value: float | datetime | None) -> float | None:
    """An expiry given as epoch seconds or RFC 3339 (naive = UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


class Suppress(BaseModel):
    reason: str = Field(min_length=1, max_length=svc.MAX_REASON)
    until: float | datetime | None = Field(default=None, description="expiry: epoch seconds or RFC 3339")


class Assign(BaseModel):
    assignee: str | None = Field(default=None, max_length=128, description="a user name; null unassigns")


class Comment(BaseModel):
    text: str = Field(min_length=1, max_length=svc.MAX_COMMENT)


class Bulk(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=svc.MAX_BULK)
    action: str = Field(description="suppress | unsuppress | assign")
    reason: str | None = Field(default=None, max_length=svc.MAX_REASON)
    until: float | datetime | None = None
    assignee: str | None = Field(default=None, max_length=128)


@router.get("", dependencies=[require("findings:read")])
def list_findings(ctx: ServeContext = Depends(context), target: str | None = None,
                  severity: str | None = Query(None, description="comma-separated: critical,high"),
                  status: str | None = Query(None, description="new,unchanged,reopened (default), fixed, or all"),
                  triage: str | None = Query(None, description="open | suppressed (an expired suppression is open)"),
                  assignee: str | None = Query(None, description="a user name, or - for unassigned"),
                  q: str | None = Query(None, max_length=200, description="text in title, asset, check or location"),
                  sort: str | None = Query(None, description="severity, first_seen, last_seen, target, asset, "
                                                             "check, title, status; -name descending "
                                                             "(default -severity)"),
                  limit: int = pages.DEFAULT_LIMIT, cursor: str | None = Query(None, max_length=2000),
                  ) -> dict[str, Any]:
    fq = svc.query(target, severity, status, triage, assignee, q, sort, limit, cursor)
    items, nxt = svc.list_findings(ctx, fq)
    return {"items": items, "next": nxt}


@router.post("/triage")
def bulk_triage(body: Bulk, request: Request, principal: Principal = require("findings:triage"),
                ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """One action on many findings: all or none (an unknown id changes nothing), one audit record each."""
    t = svc.Triage(body.action, body.reason, epoch(body.until), body.assignee)
    items = svc.triage(ctx, body.ids, t, principal.username, client_address(request))
    return {"items": items, "next": None}


@router.get("/{fid}", dependencies=[require("findings:read")])
def get_finding(fid: str, ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.get_finding(ctx, fid)


def _one(ctx: ServeContext, fid: str, t: svc.Triage, principal: Principal, request: Request) -> dict[str, Any]:
    return svc.triage(ctx, [fid], t, principal.username, client_address(request))[0]


@router.post("/{fid}/suppress")
def suppress(fid: str, body: Suppress, request: Request, principal: Principal = require("findings:triage"),
             ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return _one(ctx, fid, svc.Triage("suppress", body.reason, epoch(body.until)), principal, request)


@router.post("/{fid}/unsuppress")
def unsuppress(fid: str, request: Request, principal: Principal = require("findings:triage"),
               ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return _one(ctx, fid, svc.Triage("unsuppress"), principal, request)


@router.post("/{fid}/assign")
def assign(fid: str, body: Assign, request: Request, principal: Principal = require("findings:triage"),
           ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return _one(ctx, fid, svc.Triage("assign", assignee=body.assignee), principal, request)


@router.post("/{fid}/comments", status_code=201)
def add_comment(fid: str, body: Comment, request: Request, principal: Principal = require("findings:triage"),
                ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.comment(ctx, fid, body.text, principal.username, client_address(request))
