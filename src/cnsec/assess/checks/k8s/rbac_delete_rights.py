from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-046",
    title="Role can delete workloads, data or events",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("denial-of-service", "defense-evasion"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Grant delete/deletecollection only to the controllers that own the objects; never on "
                 "events."),
    equivalents={"kubescape": ("C-0007", "C-0031")},
)
def rbac_delete_rights(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """delete and deletecollection on workloads, secrets, volumes or namespaces destroy services and data
    (outage, ransom); deleting events erases the evidence an investigation needs."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-020", "CNSEC-RBAC-021"))
