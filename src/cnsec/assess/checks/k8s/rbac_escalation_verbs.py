from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-045",
    title="Role can bind, escalate or impersonate",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("privilege-escalation",),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Remove bind/escalate on roles and clusterroles and impersonate on users, groups and "
                 "service accounts (wildcard verbs included)."),
    equivalents={"kubescape": ("C-0191",)},
)
def rbac_escalation_verbs(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """bind and escalate switch off RBAC's own privilege-escalation prevention and impersonate lets a
    subject act as system:masters: each is a path to cluster-admin. This check covers all three verbs
    (like Kubescape C-0191), so Checkov's single-verb checks are not equivalents: CKV_K8S_158 looks
    at escalate only, and CKV_K8S_157 flags 'bind' on rolebindings, which the Kubernetes authorizer
    never uses; Kubescape C-0065 is impersonation only."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-005", "CNSEC-RBAC-006", "CNSEC-RBAC-008"))
