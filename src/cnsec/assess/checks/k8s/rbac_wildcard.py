from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity

FIELDS = ("apiGroups", "resources", "verbs")


@check(
    id="CNSEC-K8S-042",
    title="Wildcard in RBAC rules",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("Role", "ClusterRole"),
    threats=("cluster-takeover", "privilege-escalation"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation="List the API groups, resources and verbs the role needs instead of '*'.",
    equivalents={"checkov": ("CKV_K8S_49",), "kubescape": ("C-0187",)},
)
def rbac_wildcard(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A '*' in apiGroups, resources or verbs grants every current and future verb, resource or API
    group, including escalate, bind, impersonate and secrets: least privilege becomes impossible to
    review. Like Checkov, any of the three fields counts (apiGroups alone included)."""
    rules = res.get("rules")
    if not isinstance(rules, list):
        return
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        for name in FIELDS:
            values = rule.get(name)
            if isinstance(values, list) and "*" in values:
                j = values.index("*")
                yield Hit(f"rule {i} has '*' in {name}", path=("rules", i, name, j),
                          patch=[{"op": "remove", "path": f"/rules/{i}"}])
