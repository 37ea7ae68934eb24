from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.model.severity import Severity

ANONYMOUS = ("system:anonymous", "system:unauthenticated")


@check(
    id="CNSEC-K8S-051",
    title="Anonymous or unauthenticated subject bound to a role",
    severity=Severity.CRITICAL,
    target="inventory",
    threats=("unauthenticated-access", "cluster-takeover"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation="Remove system:anonymous and system:unauthenticated from the binding's subjects.",
    equivalents={"kubescape": ("C-0262",)},
)
def rbac_anonymous_binding(inv: object, ctx: object) -> Iterator[Hit]:
    """A binding to system:anonymous or system:unauthenticated gives its role to every request that
    carries no credentials at all. The bootstrap system:public-info-viewer binding (read-only version
    and health endpoints) is the one exception Kubernetes ships and is not reported."""
    from cnsec.k8s.rbac import bindings_in

    for res, b in bindings_in(getattr(inv, "k8s", [])):
        if b.role_name == "system:public-info-viewer":
            continue
        for s in b.subjects:
            if s.kind in ("User", "Group") and s.name in ANONYMOUS:
                yield Hit(f"{s} is bound to {b.role_key} by {b.key}: unauthenticated requests get its rights",
                          resource=res, path=("subjects", s.index),
                          patch=[{"op": "remove", "path": f"/subjects/{s.index}"}])
