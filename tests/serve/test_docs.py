"""docs/serve.md stays true: its permission table is the routes the server has, with the permission
each declares and the built-in roles that hold it (decided by the RBAC, not copied)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute

from cnsec.iam import BUILTIN_ROLES
from cnsec.serve.app import all_routes
from cnsec.serve.auth import AUTHENTICATED, PUBLIC, route_permission
from cnsec.serve.context import ServeContext

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"
BEGIN, END = "<!-- permissions:begin -->", "<!-- permissions:end -->"


def permission_table(app: FastAPI, ctx: ServeContext) -> str:
    """The table as markdown: one row a route (method and path), its permission, who holds it."""
    authz = ctx.authorizer()
    rows = []
    for route in all_routes(app):
        if not isinstance(route, APIRoute):
            continue
        perms = route_permission(route)
        perm = perms[0] if len(perms) == 1 else "UNDECLARED"
        if perm == PUBLIC:
            who = "anyone, no credential"
        elif perm == AUTHENTICATED:
            who = "any signed-in user"
        else:
            resource, _, action = perm.rpartition(":")
            who = ", ".join(role for role in BUILTIN_ROLES if authz.decide(role, action, resource).allowed)
        for method in sorted(route.methods - {"HEAD"}):
            rows.append((route.path, method, perm, who or "no built-in role"))
    lines = ["| method | path | permission | built-in roles allowed |", "|---|---|---|---|"]
    lines += [f"| {m} | `{p}` | `{perm}` | {who} |" for p, m, perm, who in sorted(rows)]
    return "\n".join(lines)


def test_the_permission_table_in_docs_serve_is_the_code(
        app: FastAPI, serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    table = permission_table(app, serve_ctx)
    text = DOC.read_text()
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n?" + re.escape(END), text, flags=re.DOTALL)
    assert found, f"docs/serve.md lacks the {BEGIN} … {END} markers"
    if os.environ.get("CNSEC_UPDATE_DOCS") == "1":
        DOC.write_text(text[:found.start()] + f"{BEGIN}\n{table}\n{END}" + text[found.end():])
        return
    assert found.group(1).strip() == table, (
        "docs/serve.md's permission table differs from the routes: run "
        "CNSEC_UPDATE_DOCS=1 pytest tests/serve/test_docs.py and review the diff")
    assert "| GET | `/metrics` | `metrics:read` |" in table and "UNDECLARED" not in table


def test_every_command_line_option_of_serve_is_in_docs_serve() -> None:
    import argparse

    from cnsec.serve.cli import register

    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    serve = sub.choices["serve"]
    flags = [s for action in serve._actions for s in action.option_strings if s.startswith("--") and s != "--help"]
    text = DOC.read_text()
    assert len(flags) >= 7 and [f for f in flags if f not in text] == []
