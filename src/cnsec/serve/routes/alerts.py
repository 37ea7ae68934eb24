"""/v1/alerts: what detection found, and what people did about it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cnsec.serve.auth import Principal, require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.ingest import alerts as svc

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


class Assign(BaseModel):
    assignee: str | None = Field(default=None, max_length=128)


class Close(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class Comment(BaseModel):
    text: str = Field(min_length=1, max_length=10000)


@router.get("")
def list_alerts(status: str | None = None, severity: str | None = None, rule: str | None = None,
                since: float | None = None, limit: int = Query(50, ge=1, le=svc.MAX_LIMIT),
                cursor: str | None = Query(None, max_length=512),
                ctx: ServeContext = Depends(context), _p: Principal = require("alerts:read")) -> dict[str, Any]:
    return svc.list_alerts(ctx, status=status, severity=severity, rule=rule, since=since, limit=limit,
                           cursor=cursor)


@router.get("/{alert_id}")
def get_alert(alert_id: str, ctx: ServeContext = Depends(context),
              _p: Principal = require("alerts:read")) -> dict[str, Any]:
    return svc.get_alert(ctx, alert_id)


@router.post("/{alert_id}/ack")
def ack(alert_id: str, ctx: ServeContext = Depends(context),
        p: Principal = require("alerts:ack")) -> dict[str, Any]:
    return svc.acknowledge(ctx, alert_id, p.username)


@router.post("/{alert_id}/assign")
def assign(alert_id: str, body: Assign, ctx: ServeContext = Depends(context),
           p: Principal = require("alerts:ack")) -> dict[str, Any]:
    return svc.assign(ctx, alert_id, p.username, body.assignee)


@router.post("/{alert_id}/close")
def close(alert_id: str, body: Close, ctx: ServeContext = Depends(context),
          p: Principal = require("alerts:ack")) -> dict[str, Any]:
    return svc.close(ctx, alert_id, p.username, body.reason)


@router.post("/{alert_id}/comments")
def comment(alert_id: str, body: Comment, ctx: ServeContext = Depends(context),
            p: Principal = require("alerts:ack")) -> dict[str, Any]:
    return svc.comment(ctx, alert_id, p.username, body.text)
