from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.assets import ingress_service_names, label_selects
from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.workload import Workload
from cnsec.model.asset import Exposure
from cnsec.model.severity import Severity


def _index(inv: Any) -> tuple[dict[tuple[Any, str], list[Any]], dict[Any, list[Any]]]:
    """Services by (namespace, name) and Ingresses by namespace, built once per inventory."""
    cached = getattr(inv, "_exposure_index", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    services: dict[tuple[Any, str], list[Any]] = {}
    ingresses: dict[Any, list[Any]] = {}
    for r in getattr(inv, "k8s", []):
        if r.kind == "Service":
            services.setdefault((r.effective_namespace, r.name), []).append(r)
        elif r.kind == "Ingress":
            ingresses.setdefault(r.effective_namespace, []).append(r)
    inv._exposure_index = (services, ingresses)
    return services, ingresses


def _public_services(w: Workload, ctx: Any) -> list[str]:
    """Public Services selecting the workload: the asset already lists the Services that select it."""
    inv = getattr(ctx, "inventory", None)
    asset = getattr(ctx, "assets", {}).get(w.res.key)
    if inv is None or asset is None:
        return []
    by_name, _ = _index(inv)
    out: list[str] = []
    for name in dict.fromkeys(asset.attrs.get("services", ())):
        for svc in by_name.get((w.res.effective_namespace, name), ()):
            public = svc.get("spec", "type") in ("LoadBalancer", "NodePort") or svc.get("spec", "externalIPs")
            if public and label_selects(svc.get("spec", "selector"), w.pod_labels):
                out.append(svc.name)
    return list(dict.fromkeys(out))


def _ingresses(w: Workload, ctx: Any, services: list[str]) -> list[str]:
    inv = getattr(ctx, "inventory", None)
    if inv is None:
        return []
    wanted = set(services)
    _, ingresses = _index(inv)
    return [ing.name for ing in ingresses.get(w.res.effective_namespace, ()) if ingress_service_names(ing) & wanted]


def _fix(names: list[str]) -> str | None:
    if not names:
        return None
    return "".join(f"# Service {n}: keep it inside the cluster and publish it through a TLS Ingress\n"
                   "spec:\n  type: ClusterIP\n" for n in names)


@check(
    id="CNSEC-K8S-036",
    title="Workload exposed outside the cluster",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("exposed-interface",),
    control="CTRL-EXPOSURE",
    remediation="Expose only what must be public, through a TLS-terminating Ingress or gateway with "
                "authentication; make internal Services ClusterIP.",
    equivalents={"kubescape": ("C-0256",)},
)
def internet_exposed(w: Workload, ctx: Any) -> Iterator[Hit]:
    """A workload reachable from the internet (a LoadBalancer or NodePort Service, externalIPs, an
    Ingress or route selecting it, or an ``exposure: internet`` override in ``.cnsec.yaml``) is the
    first thing an attacker reaches, so every other weakness of it counts more. Exposure comes from
    the asset inventory. It is medium, not high: a public frontend is often intended; the risk
    register weighs its other findings by it, and an intended exposure is suppressed with a reason."""
    assets = getattr(ctx, "assets", None) or {}
    asset = assets.get(w.res.key)
    if asset is None or asset.exposure is not Exposure.INTERNET:
        return
    public = _public_services(w, ctx)
    services = asset.attrs.get("services") if isinstance(asset.attrs.get("services"), list) else []
    ingresses = _ingresses(w, ctx, [str(s) for s in services or []])
    routes = [f"Service {', '.join(public)}"] if public else []
    routes += [f"Ingress {', '.join(ingresses)}"] if ingresses else []
    via = f" through {' and '.join(routes)}" if routes else ""
    path = (*w.pod_path[:-1], "metadata", "labels") if w.kind != "Pod" else ("metadata", "labels")
    yield Hit(f"{w.kind} {w.res.name!r} is reachable from outside the cluster{via}", path=path,
              fix=_fix(public))
