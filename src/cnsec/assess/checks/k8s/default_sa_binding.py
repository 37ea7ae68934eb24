from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import remove_patch
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-063",
    title="Role bound to a default service account",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("RoleBinding", "ClusterRoleBinding"),
    threats=("sa-token-theft", "privilege-escalation"),
    control="CTRL-SA-TOKENS",
    remediation="Bind the role to a dedicated ServiceAccount of the workload that needs it, not to 'default'.",
    equivalents={"checkov": ("CKV_K8S_42",)},
)
def default_sa_binding(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A grant to a namespace's ``default`` ServiceAccount is a grant to every pod in that namespace
    that names no account, including ones deployed later by someone else (CIS 5.1.5)."""
    subjects = res.doc.get("subjects")
    if not isinstance(subjects, list):
        return
    for i, s in enumerate(subjects):
        if isinstance(s, dict) and s.get("kind") == "ServiceAccount" and s.get("name") == "default":
            ns = s.get("namespace") or res.effective_namespace or "default"
            yield Hit(f"{res.kind} grants {str(res.get('roleRef', 'name'))!r} to ServiceAccount "
                      f"'default' in namespace {str(ns)!r}", path=("subjects", i),
                      patch=remove_patch(("subjects", i)))
