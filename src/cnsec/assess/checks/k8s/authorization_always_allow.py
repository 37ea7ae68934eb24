from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import (
    APISERVER,
    KUBELET,
    Component,
    KubeletView,
    components,
    kubelet_info,
    modes,
)
from cnsec.assess.patches import set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import WORKLOAD_KINDS, as_workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-055",
    title="Authorization mode AlwaysAllow or no RBAC",
    severity=Severity.CRITICAL,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "KubeletConfiguration", "KubeletInfo"),
    threats=("cluster-takeover", "unauthenticated-access"),
    control="CTRL-CONTROL-PLANE",
    remediation=("Start kube-apiserver with --authorization-mode=Node,RBAC and the kubelet with "
                 "--authorization-mode=Webhook (KubeletConfiguration authorization.mode: Webhook); "
                 "never use AlwaysAllow."),
    equivalents={"checkov": ("CKV_K8S_74", "CKV_K8S_139", "CKV_K8S_77"), "kubescape": ("C-0118", "C-0120", "C-0173")},
)
def authorization_always_allow(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """With AlwaysAllow every authenticated (or anonymous) request may do anything: RBAC is not consulted.

    kube-apiserver defaults to AlwaysAllow when ``--authorization-mode`` is absent, so an API server
    without RBAC in its modes fails (as Checkov's CKV_K8S_77; its CKV_K8S_74 passes a missing flag,
    where we deliberately follow the real default). ``--authorization-config`` (structured
    authorization) counts as configured. For the kubelet the mode resolves as the kubelet does: a
    flag, else its KubeletConfiguration (default Webhook), else the command-line default AlwaysAllow;
    a ``--config`` file we cannot see passes. Kubescape's host-sensor ``KubeletInfo`` is read too;
    when its sensor could not read the config file we pass where Kubescape fails.
    """
    if res.kind == "KubeletConfiguration":
        mode = res.get("authorization", "mode")
        if isinstance(mode, str) and mode.strip() == "AlwaysAllow":
            path: tuple[str | int, ...] = ("authorization", "mode")
            yield Hit("KubeletConfiguration authorizes every request (AlwaysAllow)", path=path,
                      patch=set_patch(res, path, "Webhook"))
        return
    if res.kind == "KubeletInfo":
        view = kubelet_info(res)
        mode, src = view.setting("authorization-mode", ("authorization", "mode"), "Webhook",
                                 "AlwaysAllow") if view else (None, "unknown")
        if isinstance(mode, str) and "AlwaysAllow" in modes(mode):
            why = "--authorization-mode not set, default" if src == "default" else src
            yield Hit(f"kubelet authorizes every request (AlwaysAllow, from {why})",
                      path=("data", "cmdLine") if src != "config" else ("data", "configFile"),
                      fix="--authorization-mode=Webhook")
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
    if comp.binary == KUBELET and value is None:
        mode, _ = KubeletView(comp.flags, None).setting("authorization-mode", (), None, "AlwaysAllow")
        if mode == "AlwaysAllow":
            yield Hit(f"{who}: --authorization-mode is not set and there is no --config (defaults to "
                      "AlwaysAllow)", path=comp.at("authorization-mode"), line=line,
                      patch=comp.set_flag_patch(res, "authorization-mode", safe),
                      fix=f"--authorization-mode={safe}")
    elif "AlwaysAllow" in ms:
        yield Hit(f"{who}: --authorization-mode={value} includes AlwaysAllow",
                  path=comp.at("authorization-mode"), line=line,
                  patch=comp.set_flag_patch(res, "authorization-mode", safe),
                  fix=f"--authorization-mode={safe}")
    elif comp.binary == APISERVER and "RBAC" not in ms and not comp.has("authorization-config"):
        why = f"is {value} (no RBAC)" if value is not None else "is not set (defaults to AlwaysAllow)"
        yield Hit(f"{who}: --authorization-mode {why}", path=comp.at("authorization-mode"), line=line,
                  patch=comp.set_flag_patch(res, "authorization-mode", safe),
                  fix=f"--authorization-mode={safe}")
