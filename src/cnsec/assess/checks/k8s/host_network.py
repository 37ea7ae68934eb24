from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-005",
    title="Host network namespace shared",
    severity=Severity.HIGH,
    target="workload",
    threats=("network-interception", "lateral-movement", "container-escape"),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove hostNetwork from the pod spec (or set it to false); expose the workload through "
                "a Service instead.",
    equivalents={"checkov": ("CKV_K8S_19",), "kubescape": ("C-0041",)},
)
def host_network(w: Workload, ctx: object) -> Iterator[Hit]:
    """With hostNetwork the pod uses the node's network stack: it can sniff all traffic of the node,
    reach services bound to localhost (kubelet, metadata endpoints) and bypasses NetworkPolicies."""
    if w.pod.get("hostNetwork") is True:
        path = w.pod_at("hostNetwork")
        yield Hit("pod uses the host network namespace", path=path, patch=set_patch(w.res, path, False))
