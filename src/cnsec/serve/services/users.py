"""Users and roles through the IAM store: its checks (names, password policy, known roles) and its audit
records, with the store's refusals turned into API errors and the server's role cache dropped after
each change (:meth:`~cnsec.serve.context.ServeContext.roles_changed`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from cnsec.serve.context import ServeContext
from cnsec.serve.errors import ApiError


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    from cnsec.errors import CnsecError

    try:
        yield
    except CnsecError as exc:
        message = str(exc)
        raise ApiError(404 if message.startswith("no user") else 400, message) from None


def roles(ctx: ServeContext) -> list[dict[str, Any]]:
    return [{"name": r.name, "allow": [str(p) for p in r.permissions if p.effect == "allow"],
             "deny": [str(p) for p in r.permissions if p.effect != "allow"], "parents": list(r.parents)}
            for r in ctx.iam.roles().values()]


def _user(ctx: ServeContext, name: str) -> dict[str, Any]:
    with _refusals():
        user: dict[str, Any] = ctx.iam.require_user(name).to_dict()
    return user


def add_user(ctx: ServeContext, username: str, password: str, role_names: list[str], actor: str) -> dict[str, Any]:
    with _refusals():
        if ctx.iam.get_user(username.strip()) is not None:
            raise ApiError(409, f"user {username!r} exists")
        user: dict[str, Any] = ctx.iam.add_user(username, password, role_names, actor=actor).to_dict()
    ctx.roles_changed()
    return user


def set_roles(ctx: ServeContext, name: str, role_names: list[str], actor: str) -> dict[str, Any]:
    with _refusals():
        ctx.iam.set_roles(name, role_names, actor=actor)
    ctx.roles_changed()
    return _user(ctx, name)


def set_disabled(ctx: ServeContext, name: str, disabled: bool, actor: str) -> dict[str, Any]:
    if disabled and name == actor:
        raise ApiError(400, "you cannot disable yourself (another administrator can)")
    with _refusals():
        if disabled:
            ctx.iam.disable_user(name, actor=actor)
        else:
            ctx.iam.enable_user(name, actor=actor)
    ctx.roles_changed()
    return _user(ctx, name)
