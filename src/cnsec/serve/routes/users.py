"""Users and roles of the IAM store: list, add, change roles, disable and enable. Every change is an
IAM audit record (the store writes it) and takes effect on the next request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from cnsec.serve.auth import Principal, require
from cnsec.serve.context import ServeContext, context
from cnsec.serve.services import users as svc

router = APIRouter(prefix="/v1", tags=["users"])


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[str] = Field(default_factory=list, max_length=64)


class Roles(BaseModel):
    roles: list[str] = Field(max_length=64)


@router.get("/users", dependencies=[require("users:read")])
def list_users(ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return {"items": [u.to_dict() for u in ctx.iam.list_users()], "next": None}


@router.get("/roles", dependencies=[require("users:read")])
def list_roles(ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return {"items": svc.roles(ctx), "next": None}


@router.post("/users", status_code=201)
def add_user(body: NewUser, principal: Principal = require("users:admin"),
             ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.add_user(ctx, body.username, body.password, body.roles, principal.username)


@router.put("/users/{name}/roles")
def set_roles(name: str, body: Roles, principal: Principal = require("users:admin"),
              ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.set_roles(ctx, name, body.roles, principal.username)


@router.post("/users/{name}/disable")
def disable(name: str, principal: Principal = require("users:admin"),
            ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    """Disabled at once: every token and session of the user stops working."""
    return svc.set_disabled(ctx, name, True, principal.username)


@router.post("/users/{name}/enable")
def enable(name: str, principal: Principal = require("users:admin"),
           ctx: ServeContext = Depends(context)) -> dict[str, Any]:
    return svc.set_disabled(ctx, name, False, principal.username)
