from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-044",
    title="Role can create pods, exec or attach into them, or use nodes/proxy",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("exec-in-container", "privilege-escalation"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Remove create on pods, create/get on pods/exec and pods/attach, and nodes/proxy; let "
                 "controllers and CI service accounts create workloads."),
    equivalents={"kubescape": ("C-0002", "C-0188")},
)
def rbac_pod_create_exec(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Creating a pod runs code as any service account of the namespace; exec and attach are code execution
    in running pods; nodes/proxy reaches the kubelet API, which execs into any pod on a node without
    audit. Reported per role (Kubescape reports per bound subject)."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    entries = ("CNSEC-RBAC-010", "CNSEC-RBAC-012", "CNSEC-RBAC-013", "CNSEC-RBAC-016")
    yield from role_rule_removal_hits(res, entries)
