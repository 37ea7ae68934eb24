from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-043",
    title="Role can read secrets",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("secret-access", "sa-token-theft"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Grant get/list/watch on secrets only where needed, narrowed with resourceNames; prefer "
                 "mounting the one secret a workload needs."),
    equivalents={"kubescape": ("C-0015",)},
)
def rbac_secrets_read(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """get, list or watch on secrets (directly or through a wildcard) hands over every credential and
    service-account token in scope. Kubescape reports the subjects bound to such a role; we report the
    role itself (bound or not), so an unbound role is flagged too. Unlike Kubescape, pods/* does not
    count: the Kubernetes authorizer matches only */subresource wildcards."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-003",))
