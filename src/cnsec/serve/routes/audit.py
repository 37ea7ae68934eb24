"""The IAM audit log (every login, role change, triage and response step, hash-chained) and its check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from cnsec.serve.auth import require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.services import pages

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", dependencies=[require("audit:read")])
def list_audit(ctx: ServeContext = Depends(context), limit: int = pages.DEFAULT_LIMIT,
               user: str | None = Query(None, max_length=128, description="entries where this user acted or "
                                                                          "was acted upon")) -> dict[str, Any]:
    """The latest ``limit`` entries, oldest first (as ``cnsec iam audit``)."""
    entries = ctx.iam.audit_entries(limit=pages.check_limit(limit), user=user or None)
    return {"items": [e.to_dict() for e in entries], "next": None}


@router.get("/verify", dependencies=[require("audit:read")])
def verify(ctx: ServeContext = Depends(context),
           expect_head: str | None = Query(None, max_length=64, description="a head hash kept elsewhere earlier"),
           ) -> dict[str, Any]:
    """Recompute the hash chain: every break, and the head to keep as an anchor (``intact`` false on
    tampering; the answer is still 200: the check ran)."""
    check = ctx.iam.verify_audit_chain(expect_head or None)
    return check.to_dict()
