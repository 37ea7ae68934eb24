from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-048",
    title="ClusterRole can approve certificate signing requests",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("ClusterRole",),
    threats=("credential-abuse", "privilege-escalation"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Remove update on certificatesigningrequests/approval together with approve on signers; "
                 "leave CSR approval to the controller manager."),
    equivalents={"checkov": ("CKV_K8S_156",), "kubescape": ("C-0280",)},
)
def rbac_csr_approval(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Approving CSRs (update on certificatesigningrequests/approval plus approve on a signer) issues
    client certificates for any user or group, including system:masters."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-017",))
