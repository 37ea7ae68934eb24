from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import KUBELET, components, is_true
from cnsec.assess.loaders.k8s import WORKLOAD_KINDS, K8sResource
from cnsec.assess.workload import as_workload, set_patch
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-054",
    title="Kubelet allows anonymous access or serves the read-only port",
    severity=Severity.CRITICAL,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "KubeletConfiguration"),
    threats=("unauthenticated-access", "exposed-interface"),
    control="CTRL-CONTROL-PLANE",
    remediation=("Run the kubelet with --anonymous-auth=false and --read-only-port=0 (or, in its "
                 "KubeletConfiguration, authentication.anonymous.enabled: false and readOnlyPort: 0)."),
    equivalents={"checkov": ("CKV_K8S_138", "CKV_K8S_141")},
)
def kubelet_anonymous_access(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """An anonymous kubelet API (port 10250) lets anyone on the network list pods and exec into them;
    the read-only port (10255) leaks every pod spec, env vars included, without authentication.

    Command-line defaults are unsafe (anonymous auth on, read-only port 10255), so a kubelet started
    without these flags fails, as in Checkov. We deliberately differ when the kubelet is given a
    ``--config`` file: there the KubeletConfiguration defaults apply (anonymous off, port 0), and the
    configuration document itself is checked when it is part of the input.
    """
    if res.kind == "KubeletConfiguration":
        yield from _config(res)
        return
    w = as_workload(res)
    if w is None:
        return
    for comp in components(w, KUBELET):
        name = comp.container.name
        from_file = comp.has("config")
        anon = comp.get("anonymous-auth")
        if is_true(anon) or (anon is None and not from_file):
            why = "is true" if anon is not None else "is not set (defaults to true)"
            yield Hit(f"kubelet in container {name!r}: --anonymous-auth {why}",
                      path=comp.at("anonymous-auth"), line=comp.line(res, ctx, "anonymous-auth"),
                      patch=comp.set_flag_patch(res, "anonymous-auth", "false"),
                      fix="--anonymous-auth=false", location=f"{name}/anonymous-auth")
        port = comp.get("read-only-port")
        if (port is not None and port.strip() != "0") or (port is None and not from_file):
            why = f"is {port}" if port is not None else "is not set (defaults to 10255)"
            yield Hit(f"kubelet in container {name!r}: --read-only-port {why}",
                      path=comp.at("read-only-port"), line=comp.line(res, ctx, "read-only-port"),
                      patch=comp.set_flag_patch(res, "read-only-port", "0"),
                      fix="--read-only-port=0", location=f"{name}/read-only-port")


def _config(res: K8sResource) -> Iterator[Hit]:
    enabled = res.get("authentication", "anonymous", "enabled")
    if enabled is True:
        path: tuple[str | int, ...] = ("authentication", "anonymous", "enabled")
        yield Hit("KubeletConfiguration enables anonymous authentication", path=path,
                  patch=set_patch(res, path, False))
    port = res.get("readOnlyPort")
    if isinstance(port, (int, str)) and not isinstance(port, bool) and str(port).strip() not in ("0", ""):
        yield Hit(f"KubeletConfiguration serves the unauthenticated read-only port {port}",
                  path=("readOnlyPort",), patch=set_patch(res, ("readOnlyPort",), 0))
