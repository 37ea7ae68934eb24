from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import KUBELET, Component, KubeletView, components, kubelet_info
from cnsec.assess.patches import set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import WORKLOAD_KINDS, as_workload
from cnsec.model.severity import Severity

_ANON = ("authentication", "anonymous", "enabled")


def _enabled(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "t"))


def _port_open(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and str(value).strip() not in ("0", "")


def _views(res: K8sResource) -> Iterator[tuple[KubeletView, Component | None]]:
    """Every kubelet configuration the resource carries: a config document, host data or a static pod."""
    if res.kind == "KubeletConfiguration":
        yield KubeletView({}, res.doc), None
        return
    if res.kind == "KubeletInfo":
        view = kubelet_info(res)
        if view is not None:
            yield view, None
        return
    w = as_workload(res)
    if w is None:
        return
    for comp in components(w, KUBELET):
        yield KubeletView(comp.flags, None), comp


def _where(res: K8sResource, comp: Component | None) -> tuple[str, str]:
    where = (f"kubelet in container {comp.container.name!r}" if comp else
             "kubelet (host data)" if res.kind == "KubeletInfo" else f"{res.kind} {res.name!r}")
    return where, (comp.container.name if comp else res.kind)


@check(
    id="CNSEC-K8S-054",
    title="Kubelet allows anonymous access",
    severity=Severity.CRITICAL,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "KubeletConfiguration", "KubeletInfo"),
    threats=("unauthenticated-access", "exposed-interface"),
    control="CTRL-CONTROL-PLANE",
    remediation=("Run the kubelet with --anonymous-auth=false (in its KubeletConfiguration: "
                 "authentication.anonymous.enabled: false)."),
    equivalents={"checkov": ("CKV_K8S_138",), "kubescape": ("C-0069", "C-0172")},
)
def kubelet_anonymous_access(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """An anonymous kubelet API (port 10250) lets anyone on the network list pods and exec into them.

    Settings resolve as the kubelet does: a flag wins, else the KubeletConfiguration (whose defaults
    are safe: anonymous off, port 0), else the command-line defaults (anonymous on, port 10255). A
    static pod without these flags and without ``--config`` therefore fails, as in Checkov; with a
    ``--config`` file we cannot see, it passes (the configuration document is checked when it is part
    of the input). Kubescape host-sensor ``KubeletInfo`` documents (command line plus config file)
    are read too. The read-only port is CNSEC-K8S-064.
    """
    for view, comp in _views(res):
        where, loc = _where(res, comp)
        anon, src = view.setting("anonymous-auth", _ANON, False, True)
        if _enabled(anon):
            yield _hit(res, comp, ctx, where, loc, "anonymous-auth", "false", _ANON, False, src,
                       "anonymous authentication is enabled")


@check(
    id="CNSEC-K8S-064",
    title="Kubelet serves the unauthenticated read-only port",
    severity=Severity.HIGH,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "KubeletConfiguration", "KubeletInfo"),
    threats=("unauthenticated-access", "exposed-interface"),
    control="CTRL-CONTROL-PLANE",
    remediation="Run the kubelet with --read-only-port=0 (in its KubeletConfiguration: readOnlyPort: 0).",
    equivalents={"checkov": ("CKV_K8S_141",), "kubescape": ("C-0175",)},
)
def kubelet_read_only_port(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """The kubelet's read-only port (10255) serves every pod spec on the node, env vars included,
    to anyone who can reach it, without authentication. Settings resolve as for CNSEC-K8S-054: a flag
    wins, else the KubeletConfiguration (default port 0), else the command-line default (10255)."""
    for view, comp in _views(res):
        where, loc = _where(res, comp)
        port, src = view.setting("read-only-port", ("readOnlyPort",), 0, 10255)
        if _port_open(port):
            yield _hit(res, comp, ctx, where, loc, "read-only-port", "0", ("readOnlyPort",), 0, src,
                       f"the unauthenticated read-only port {port} is served")


def _hit(res: K8sResource, comp: Component | None, ctx: object, where: str, loc: str, flag: str, safe: str,
         config_path: tuple[str, ...], config_safe: Any, src: str, what: str) -> Hit:
    why = {"flag": f"--{flag}", "config": ".".join(config_path), "default": f"--{flag} not set, default"}[src]
    message = f"{where}: {what} ({why})"
    fix = f"--{flag}={safe}" if src != "config" else f"{'.'.join(config_path)}: {config_safe}"
    if comp is not None:
        return Hit(message, path=comp.at(flag), line=comp.line(res, ctx, flag),
                   patch=comp.set_flag_patch(res, flag, safe), fix=fix, location=f"{loc}/{flag}")
    if res.kind == "KubeletConfiguration":
        return Hit(message, path=config_path, patch=set_patch(res, config_path, config_safe), fix=fix,
                   location=f"{loc}/{flag}")
    path = ("data", "cmdLine") if src == "flag" else ("data", "configFile")
    return Hit(message, path=path, fix=fix, location=f"{loc}/{flag}")
