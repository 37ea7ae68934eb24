from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-047",
    title="ClusterRole can change admission webhook configurations",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("ClusterRole",),
    threats=("backdoor-persistence", "data-tampering"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Only the webhook's own installer (cluster administrators) should create or change "
                 "mutating/validating webhook configurations."),
    equivalents={"checkov": ("CKV_K8S_155",), "kubescape": ("C-0281",)},
)
def rbac_admission_webhooks(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A mutating or validating webhook receives every admitted object, secrets included, and can rewrite
    it: whoever controls the configuration controls the cluster's admissions. Webhook configurations are
    cluster-scoped, so a namespaced Role cannot grant this."""
    from cnsec.assess.checks.k8s._rbac import role_rule_removal_hits

    yield from role_rule_removal_hits(res, ("CNSEC-RBAC-018",))
