"""cnsec iam: cnsec's own users, roles, tokens and MFA, and the offline Kubernetes RBAC audit.

The public face other pillars may import (tests/test_architecture.py): the IAM store seen as an identity
directory (``open_directory``: disable a user, revoke their tokens), which respond's ``deny_access``
uses; and the RBAC audit (``audit``: every risky grant, with the workloads that mount a powerful
token), which ``assess --images`` uses to tell a workload's privileges. Loaded on first use
(:mod:`cnsec.lazy`), so asking whether the pillar is there costs nothing.
The Kubernetes RBAC model the audit works on is not iam's but :mod:`cnsec.k8s.rbac`, under the pillars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"Directory": "directory", "open_directory": "directory", "audit": "rbac_audit"}

__all__ = ["Directory", "audit", "open_directory"]

if TYPE_CHECKING:
    from cnsec.iam.directory import Directory, open_directory
    from cnsec.iam.rbac_audit import audit

__getattr__ = exports(__name__, _WHERE)
