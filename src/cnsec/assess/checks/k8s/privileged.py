from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-001",
    title="Privileged container",
    severity=Severity.CRITICAL,
    target="workload",
    threats=("container-escape",),
    control="CTRL-NO-PRIVILEGED",
    remediation="Remove securityContext.privileged or set it to false.",
    equivalents={"checkov": ("CKV_K8S_16",), "kubescape": ("C-0057",)},
)
def privileged_container(w: Workload, ctx: object) -> Iterator[Hit]:
    """A privileged container has every capability and all host devices: root in it is root on the node."""
    for c in w.containers:
        if c.security_context.get("privileged") is True:
            path = c.at("securityContext", "privileged")
            yield Hit(f"container {c.name!r} runs privileged", path=path,
                      patch=set_patch(w.res, path, False))
