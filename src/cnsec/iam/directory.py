"""What other pillars (respond's ``deny_access``) may call on the IAM store, and nothing more.

Both operations are idempotent and audited; the module-level functions return a one-line
description of what changed, :func:`open_directory` gives the object form (bool / count results).
"""

from __future__ import annotations

from cnsec.iam.store import IamStore


class Directory:
    """The IAM store seen as an identity directory."""

    def __init__(self, url: str | None = None, actor: str = "respond") -> None:
        self.store = IamStore(url)
        self.store.require_ready()
        self.actor = actor

    def disable_user(self, name: str) -> bool:
        """True when the user was enabled and is now disabled (their tokens are revoked too)."""
        return self.store.disable_user(name, actor=self.actor)

    def revoke_tokens(self, user: str) -> int:
        """How many live refresh tokens were revoked; every access token is refused from now on."""
        return self.store.revoke_user_tokens(user, actor=self.actor)


def open_directory(url: str | None = None) -> Directory:
    return Directory(url)


def disable_user(name: str, url: str | None = None) -> str:
    changed = Directory(url).disable_user(name)
    return f"user {name} disabled, tokens revoked" if changed else f"user {name} was already disabled"


def revoke_tokens(user: str, url: str | None = None) -> str:
    n = Directory(url).revoke_tokens(user)
    return f"user {user}: access tokens invalidated, {n} refresh token(s) revoked"
