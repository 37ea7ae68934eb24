from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import remove_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity

SSH_PORT = 22


@check(
    id="CNSEC-K8S-035",
    title="SSH port exposed by a container",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("exposed-interface", "exec-in-container"),
    control="CTRL-EXPOSURE",
    remediation="Remove the SSH server and port 22 from the container; use kubectl exec (audited, RBAC "
                "controlled) or an ephemeral debug container instead.",
)
def ssh_port(w: Workload, ctx: object) -> Iterator[Hit]:
    """An SSH server in a container is a second, unaudited way in: it takes passwords or keys that
    Kubernetes RBAC and audit logs know nothing about, and it is a classic brute-force target. A
    container declaring port 22 (or a port named ``ssh``) is reported. Kubescape's C-0042 looks at
    Services exposing 22/2222 instead, so it is not listed as an equivalent."""
    for c in w.containers:
        ports = c.spec.get("ports")
        if not isinstance(ports, list):
            continue
        for i, p in enumerate(ports):
            if not isinstance(p, dict):
                continue
            if p.get("containerPort") == SSH_PORT or str(p.get("containerPort")) == str(SSH_PORT) or \
                    str(p.get("name", "")).lower() == "ssh":
                path = c.at("ports", i)
                yield Hit(f"container {c.name!r} exposes SSH (port {p.get('containerPort')})",
                          path=(*path, "containerPort"), patch=remove_patch(path))
