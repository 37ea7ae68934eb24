"""cnsec iam: cnsec's own users, roles, tokens and MFA, and the offline Kubernetes RBAC audit.

The public face other pillars may import (tests/test_architecture.py): the IAM store seen as an identity
directory (``open_directory``: disable a user, revoke their tokens), which respond's ``deny_access``
uses; the store, tokens and decisions themselves (``IamStore``, ``TokenService``), which ``cnsec serve``
authenticates and authorises every request with; and the RBAC audit (``audit``: every risky grant, with
the workloads that mount a powerful token), which ``assess --images`` uses to tell a workload's
privileges. Loaded on first use
(:mod:`cnsec.lazy`), so asking whether the pillar is there costs nothing.
The Kubernetes RBAC model the audit works on is not iam's but :mod:`cnsec.k8s.rbac`, under the pillars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "Directory": "directory", "open_directory": "directory", "audit": "rbac_audit",
    "AuthError": "store", "BUILTIN_ROLES": "store", "IamStore": "store", "NotInitialized": "store",
    "User": "store", "TokenError": "tokens", "TokenService": "tokens", "Decision": "authz",
}

__all__ = ["BUILTIN_ROLES", "AuthError", "Decision", "Directory", "IamStore", "NotInitialized", "TokenError",
           "TokenService", "User", "audit", "open_directory"]

if TYPE_CHECKING:
    from cnsec.iam.authz import Decision
    from cnsec.iam.directory import Directory, open_directory
    from cnsec.iam.rbac_audit import audit
    from cnsec.iam.store import BUILTIN_ROLES, AuthError, IamStore, NotInitialized, User
    from cnsec.iam.tokens import TokenError, TokenService

__getattr__ = exports(__name__, _WHERE)
