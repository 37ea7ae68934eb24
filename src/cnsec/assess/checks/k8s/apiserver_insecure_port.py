from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, components
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-058",
    title="API server serves the insecure (unauthenticated HTTP) port",
    severity=Severity.CRITICAL,
    target="workload",
    threats=("unauthenticated-access", "cluster-takeover"),
    control="CTRL-CONTROL-PLANE",
    remediation="Remove --insecure-bind-address and set --insecure-port=0 (or upgrade to Kubernetes >= 1.20).",
    equivalents={"checkov": ("CKV_K8S_88", "CKV_K8S_86"), "kubescape": ("C-0005",)},
)
def apiserver_insecure_port(w: Workload, ctx: object) -> Iterator[Hit]:
    """The insecure port skips authentication and authorization: whoever reaches it is cluster-admin.

    We fail an explicit non-zero ``--insecure-port`` or any ``--insecure-bind-address``. Unlike
    Checkov's CKV_K8S_88 we do not fail a missing ``--insecure-port``: it defaults to 0 since
    Kubernetes 1.20 and the flag no longer exists since 1.24, so demanding it breaks current servers.
    """
    for comp in components(w, APISERVER):
        name = comp.container.name
        port = comp.get("insecure-port")
        if port is not None and port.strip() != "0":
            yield Hit(f"kube-apiserver in container {name!r} serves plain HTTP on --insecure-port={port}",
                      path=comp.at("insecure-port"), line=comp.line(w.res, ctx, "insecure-port"),
                      patch=comp.set_flag_patch(w.res, "insecure-port", "0"),
                      fix="--insecure-port=0", location=f"{name}/insecure-port")
        address = comp.get("insecure-bind-address")
        if address is not None:
            yield Hit(f"kube-apiserver in container {name!r} binds the insecure port to {address}",
                      path=comp.at("insecure-bind-address"), line=comp.line(w.res, ctx, "insecure-bind-address"),
                      patch=comp.remove_flag_patch("insecure-bind-address"),
                      fix="remove --insecure-bind-address", location=f"{name}/insecure-bind-address")
