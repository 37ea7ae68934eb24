from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, components
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-053",
    title="API server allows anonymous requests",
    severity=Severity.HIGH,
    target="workload",
    threats=("unauthenticated-access", "exposed-interface"),
    control="CTRL-CONTROL-PLANE",
    remediation="Start kube-apiserver with --anonymous-auth=false (health checks can use authenticated probes).",
    equivalents={"checkov": ("CKV_K8S_68",), "kubescape": ("C-0113",)},
)
def apiserver_anonymous_auth(w: Workload, ctx: object) -> Iterator[Hit]:
    """kube-apiserver accepts anonymous requests unless told otherwise (the flag defaults to true).

    Every request without credentials then runs as ``system:anonymous``; one careless binding of that
    user or of ``system:unauthenticated`` opens the API to the network.
    """
    for comp in components(w, APISERVER):
        value = comp.get("anonymous-auth")
        if value is not None and value.strip().lower() == "false":
            continue
        why = "is true" if value is not None else "is not set (defaults to true)"
        yield Hit(f"kube-apiserver in container {comp.container.name!r}: --anonymous-auth {why}",
                  path=comp.at("anonymous-auth"), line=comp.line(w.res, ctx, "anonymous-auth"),
                  patch=comp.set_flag_patch(w.res, "anonymous-auth", "false"),
                  fix="--anonymous-auth=false")
