from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, Component, components, modes
from cnsec.assess.loaders.k8s import WORKLOAD_KINDS, K8sResource
from cnsec.assess.workload import as_workload, set_patch
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-055",
    title="Authorization mode AlwaysAllow or no RBAC",
    severity=Severity.CRITICAL,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "KubeletConfiguration"),
    threats=("cluster-takeover", "unauthenticated-access"),
    control="CTRL-CONTROL-PLANE",
    remediation=("Start kube-apiserver with --authorization-mode=Node,RBAC and the kubelet with "
                 "--authorization-mode=Webhook (KubeletConfiguration authorization.mode: Webhook); "
                 "never use AlwaysAllow."),
    equivalents={"checkov": ("CKV_K8S_74", "CKV_K8S_139", "CKV_K8S_77")},
)
def authorization_always_allow(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """With AlwaysAllow every authenticated (or anonymous) request may do anything: RBAC is not consulted.

    kube-apiserver defaults to AlwaysAllow when ``--authorization-mode`` is absent, so an API server
    without RBAC in its modes fails (as Checkov's CKV_K8S_77; its CKV_K8S_74 passes a missing flag,
    where we deliberately follow the real default). ``--authorization-config`` (structured
    authorization) counts as configured. For the kubelet only an explicit AlwaysAllow fails: its
    KubeletConfiguration defaults to Webhook.
    """
    if res.kind == "KubeletConfiguration":
        mode = res.get("authorization", "mode")
        if isinstance(mode, str) and mode.strip() == "AlwaysAllow":
            path: tuple[str | int, ...] = ("authorization", "mode")
            yield Hit("KubeletConfiguration authorizes every request (AlwaysAllow)", path=path,
                      patch=set_patch(res, path, "Webhook"))
        return
    w = as_workload(res)
    if w is None:
        return
    for comp in components(w):
        yield from _component(res, comp, ctx)


def _component(res: K8sResource, comp: Component, ctx: object) -> Iterator[Hit]:
    value = comp.get("authorization-mode")
    ms = modes(value)
    who = f"{comp.binary} in container {comp.container.name!r}"
    line = comp.line(res, ctx, "authorization-mode")
    safe = "Node,RBAC" if comp.binary == APISERVER else "Webhook"
    if "AlwaysAllow" in ms:
        yield Hit(f"{who}: --authorization-mode={value} includes AlwaysAllow",
                  path=comp.at("authorization-mode"), line=line,
                  patch=comp.set_flag_patch(res, "authorization-mode", safe),
                  fix=f"--authorization-mode={safe}")
    elif comp.binary == APISERVER and "RBAC" not in ms and not comp.has("authorization-config"):
        why = f"is {value} (no RBAC)" if value is not None else "is not set (defaults to AlwaysAllow)"
        yield Hit(f"{who}: --authorization-mode {why}", path=comp.at("authorization-mode"), line=line,
                  patch=comp.set_flag_patch(res, "authorization-mode", safe),
                  fix=f"--authorization-mode={safe}")
