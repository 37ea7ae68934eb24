from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-050",
    title="Role can modify the CoreDNS configuration",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("network-interception",),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation="Do not grant update/patch on configmaps in kube-system; if a tool must, narrow it with "
                "resourceNames that exclude coredns.",
    equivalents={"kubescape": ("C-0037",)},
)
def rbac_coredns_modify(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Whoever can update or patch the coredns configmap in kube-system rewrites cluster DNS and sends
    service traffic to an address of their choosing. A namespaced Role matters only in kube-system; a
    ClusterRole can be bound there, so it is always reported."""
    from cnsec.k8s.rbac import PolicyRule, parse_request, rule_allows

    if res.kind == "Role" and res.effective_namespace != "kube-system":
        return
    rules = res.get("rules")
    if not isinstance(rules, list):
        return
    for i, raw in enumerate(rules):
        rule = PolicyRule.parse(raw, i, res.key)
        if rule is None:
            continue
        for verb in ("update", "patch"):
            if rule_allows(rule, parse_request(verb, "configmaps", "kube-system", "coredns")):
                yield Hit(f"rule {i} can {verb} the coredns configmap in kube-system", path=("rules", i),
                          patch=[{"op": "remove", "path": f"/rules/{i}"}])
                break
