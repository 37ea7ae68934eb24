from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.assets import label_selects
from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity

CILIUM_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


def _selects_all(selector: Any) -> bool:
    return selector is None or (isinstance(selector, dict) and not any(
        selector.get(k) for k in ("matchLabels", "matchExpressions")) and
        not (set(selector) - {"matchLabels", "matchExpressions"}))


def _selectors(pol: K8sResource) -> list[Any]:
    """The pod selectors of a policy: ``spec.podSelector`` (Kubernetes) or Cilium's
    ``endpointSelector`` in ``spec`` and in each of ``specs``."""
    if pol.kind == "NetworkPolicy":
        spec = pol.doc.get("spec")
        if not isinstance(spec, dict):
            return []
        return [spec.get("podSelector")]
    out: list[Any] = []
    specs: list[Any] = []
    if isinstance(pol.doc.get("spec"), dict):
        specs.append(pol.doc["spec"])
    if isinstance(pol.doc.get("specs"), list):
        specs.extend(s for s in pol.doc["specs"] if isinstance(s, dict))
    for spec in specs:
        if "endpointSelector" in spec:
            out.append(spec.get("endpointSelector"))
        elif "nodeSelector" not in spec:
            out.append(None)
    return out


def _covers(selector: Any, labels: dict[str, Any]) -> bool:
    return _selects_all(selector) or label_selects(selector, labels)


def default_deny(namespace: str | None) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return ("apiVersion: networking.k8s.io/v1\n"
            "kind: NetworkPolicy\n"
            "metadata:\n"
            f"  name: default-deny-all{ns}\n"
            "spec:\n"
            "  podSelector: {}\n"
            "  policyTypes:\n"
            "    - Ingress\n"
            "    - Egress\n")


@check(
    id="CNSEC-K8S-033",
    title="Workload not covered by a NetworkPolicy",
    severity=Severity.MEDIUM,
    target="inventory",
    threats=("lateral-movement",),
    control="CTRL-NETWORK-POLICY",
    remediation="Add a default-deny NetworkPolicy to the namespace and allow only the flows each workload "
                "needs.",
    equivalents={"kubescape": ("C-0260",)},
)
def network_policy(inv: Any, ctx: Any) -> Iterator[Hit]:
    """Pods accept traffic from every other pod in the cluster and reach every pod, service and the
    cloud metadata endpoint until a NetworkPolicy selects them: one compromised pod can then scan and
    attack everything (lateral movement). A workload is covered when a NetworkPolicy of its namespace
    selects its pod labels (an empty ``podSelector`` selects all pods of the namespace); Cilium
    policies count too (a CiliumClusterwideNetworkPolicy in any namespace). Only the scanned inputs
    are seen: scan the policies together with the workloads. Reported once per workload; the fix is a
    default-deny policy for the namespace."""
    policies: dict[str | None, list[K8sResource]] = {}
    cluster_wide: list[K8sResource] = []
    for res in inv.k8s:
        if res.kind == "NetworkPolicy" or res.kind == "CiliumNetworkPolicy":
            policies.setdefault(res.effective_namespace, []).append(res)
        elif res.kind == "CiliumClusterwideNetworkPolicy":
            cluster_wide.append(res)
    # each policy's selectors once, in the order they are tried: its namespace's, then cluster-wide
    wide = [sel for pol in cluster_wide for sel in _selectors(pol)]
    selectors = {ns: [sel for pol in pols for sel in _selectors(pol)] + wide for ns, pols in policies.items()}
    for w in inv.workloads:
        ns = w.res.effective_namespace
        labels = w.pod_labels
        if any(_covers(sel, labels) for sel in selectors.get(ns, wide)):
            continue
        path = (*w.pod_path[:-1], "metadata", "labels") if w.kind != "Pod" else ("metadata", "labels")
        yield Hit(f"no NetworkPolicy in namespace {ns!r} selects {w.kind} {w.res.name!r}",
                  path=path, resource=w.res, fix=default_deny(ns))
