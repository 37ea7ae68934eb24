"""Responses: plan (a dry run through the respond engine) → approve or reject → apply. The work is
:mod:`cnsec.serve.services.responses`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from cnsec.serve.auth import Principal, client_address, require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.services import pages
from cnsec.serve.services import responses as svc

router = APIRouter(prefix="/v1/responses", tags=["responses"])


class Plan(BaseModel):
    alert_id: str | None = Field(default=None, max_length=64, description="an alert stored by ingest")
    key: str | None = Field(default=None, max_length=512,
                            description="without alert_id: what a manual response acts on (an address, a user, "
                                        "namespace/pod)")
    severity: str = Field(default="high", max_length=16, description="of a manual response's alert")
    action: str = Field(min_length=1, max_length=128, description="block_traffic | quarantine_pod | deny_access | "
                                                                  "notify (GET /v1/responses/actions)")
    params: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


@router.get("", dependencies=[require("responses:read")])
def list_responses(ctx: ServeContext = Depends(context), status: str | None = None, alert_id: str | None = None,
                   limit: int = pages.DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
    items, nxt = svc.list_responses(ctx, status, alert_id, limit, cursor)
    return {"items": items, "next": nxt}


@router.get("/actions", dependencies=[require("responses:read")])
def list_actions() -> dict[str, Any]:
    """The actions a response may take and the parameters an API caller may set."""
    return {"items": svc.actions(), "next": None}


@router.get("/{rid}", dependencies=[require("responses:read")])
def get_response(rid: int, ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.get(ctx, rid)


@router.post("", status_code=201)
def plan(body: Plan, request: Request, principal: Principal = require("responses:plan"),
         ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Dry-run the action and store the plan; nothing is changed until it is approved and applied."""
    return svc.plan(ctx, body.action, body.params, principal.username, client_address(request),
                    alert_id=body.alert_id, key=body.key, severity=body.severity)


@router.post("/{rid}/approve")
def approve(rid: int, request: Request, body: Decision | None = None,
            principal: Principal = require("responses:approve"),
            ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.decide(ctx, rid, True, principal.username, client_address(request), body.reason if body else None)


@router.post("/{rid}/reject")
def reject(rid: int, request: Request, body: Decision | None = None,
           principal: Principal = require("responses:approve"), ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.decide(ctx, rid, False, principal.username, client_address(request), body.reason if body else None)


@router.post("/{rid}/apply")
def apply(rid: int, request: Request, principal: Principal = require("responses:apply"),
          ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Act on an approved plan (409 for any other state); the outcome is stored and audited."""
    return svc.apply(ctx, rid, principal.username, client_address(request))
