from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import as_list
from cnsec.assess.patches import remove_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-017",
    title="hostPort used",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("exposed-interface",),
    control="CTRL-EXPOSURE",
    remediation="Remove ports[].hostPort and expose the container through a Service (ClusterIP behind "
                "an Ingress, or a LoadBalancer where it must be public).",
    equivalents={"checkov": ("CKV_K8S_26",), "kubescape": ("C-0044",)},
)
def host_port(w: Workload, ctx: object) -> Iterator[Hit]:
    """A hostPort publishes the container on every address of its node, outside any Service,
    Ingress or NetworkPolicy that would otherwise guard it, and pins the pod to nodes where the
    port is free. hostPort: 0 means "no host port" to Kubernetes and passes (Checkov flags any
    hostPort key)."""
    for c in w.containers:
        for i, port in enumerate(as_list(c.spec.get("ports"))):
            if not isinstance(port, dict):
                continue
            value = port.get("hostPort")
            if value is None or value == 0 or value is False:
                continue
            path = c.at("ports", i, "hostPort")
            yield Hit(f"container {c.name!r} binds host port {value}", path=path, patch=remove_patch(path))
