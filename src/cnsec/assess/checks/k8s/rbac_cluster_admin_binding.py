from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-041",
    title="cluster-admin bound to a non-system subject",
    severity=Severity.CRITICAL,
    target="inventory",
    threats=("cluster-takeover",),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation="Bind a role with only the permissions the subject needs; keep cluster-admin for break-glass "
                "accounts outside day-to-day use.",
    equivalents={"kubescape": ("C-0035",)},
)
def rbac_cluster_admin_binding(inv: object, ctx: object) -> Iterator[Hit]:
    """A subject bound to cluster-admin, or to any role with '*' verbs on '*' resources in '*' API
    groups, owns the cluster: its stolen token is a full compromise. Subjects named system:* are the
    control plane's own and are not reported. The role is resolved as the RBAC authorizer does
    (aggregated ClusterRoles included, built-in cluster-admin when the input does not define it)."""
    from cnsec.k8s.rbac import RbacModel, bindings_in
    from cnsec.k8s.rbac_risks import risk_catalog, role_grants_entry

    items = list(getattr(inv, "k8s", []))
    model = RbacModel.from_resources(items)
    entry = risk_catalog()["CNSEC-RBAC-001"]
    for res, b in bindings_in(items):
        role = model.role_for(b)
        if role is None or role_grants_entry(role.rules, entry) is None:
            continue
        for s in b.subjects:
            if s.name.startswith("system:"):
                continue
            yield Hit(f"{s} is bound to {b.role_key} (full cluster-admin rights) by {b.key}",
                      resource=res, path=("subjects", s.index),
                      patch=[{"op": "remove", "path": f"/subjects/{s.index}"}])
