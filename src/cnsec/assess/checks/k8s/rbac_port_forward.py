from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-049",
    title="Role can port-forward to pods",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("lateral-movement",),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Remove create/get on pods/portforward outside debugging roles that are bound only when "
                 "needed."),
    equivalents={"kubescape": ("C-0063",)},
)
def rbac_port_forward(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Port-forwarding opens a tunnel to any pod port in scope, bypassing Services and NetworkPolicies."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-015",))
