"""The offline Kubernetes RBAC audit: every risky grant, subject by subject, with the binding, role and rule
that grant it, and the escalation paths (pod creation, mounted tokens) that reach further.

The RBAC model and authorizer semantics are :mod:`cnsec.k8s.rbac`, the catalog of risks
:mod:`cnsec.k8s.rbac_risks` (shared with the assess RBAC checks). Inputs are read by the project's one
input walk, assess's :func:`cnsec.assess.load_inventory`, so manifests, ``kubectl get … -o json`` dumps
(``kind: List``) and stdin all work, with file:line, exactly as ``cnsec assess`` reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cnsec.k8s.rbac import BindingDef, PolicyRule, RbacModel, RoleDef, Subject
from cnsec.k8s.rbac_risks import RiskEntry, adjusted_severity, risk_catalog, role_grants_entry
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import pod_spec_path
from cnsec.model.severity import Severity


def load_model(paths: Sequence[str]) -> tuple[RbacModel, list[Any]]:
    """Read manifests or cluster dumps with the project's Kubernetes loader."""
    from cnsec.assess import load_inventory

    inv = load_inventory(list(paths))
    return RbacModel.from_resources(inv.k8s), list(inv.problems)


@dataclass(frozen=True, slots=True)
class RiskyGrant:
    entry: RiskEntry
    subject: Subject
    binding: BindingDef
    role: RoleDef
    rule: PolicyRule | None
    severity: Severity
    via: str = ""  # for escalation paths: what the subject reaches
    workload: K8sResource | None = None  # for CNSEC-RBAC-031: the workload that mounts the token
    covers: tuple[str, ...] = ()  # for CNSEC-RBAC-001: the other risks its rule grants, not reported apart

    @property
    def scope(self) -> str:
        return self.binding.scope or "cluster"

    def message(self) -> str:
        where = "cluster-wide" if self.binding.scope is None else f"in namespace {self.binding.scope}"
        rule = f" (rule {self.rule.index}: {self.rule.describe()})" if self.rule else ""
        head = f"{self.subject} — {self.entry.title.lower()} {where}"
        via = f"; {self.via}" if self.via else ""
        covers = f"; this includes {len(self.covers)} other risks of the catalog" if self.covers else ""
        return f"{head}, via {self.binding.key} → {self.role.key}{rule}{via}{covers}"


#: The entry a rule with ``*`` verbs on ``*`` resources in ``*`` API groups is: it grants every other.
FULL_ADMIN = "CNSEC-RBAC-001"


def audit(model: RbacModel) -> list[RiskyGrant]:
    """Every risky grant, subject by subject, with the binding, role and rule that grant it.

    A role that is cluster-admin in its scope (CNSEC-RBAC-001) gives one finding per subject, not one
    for each of the risks its wildcard rule also grants (they are listed in ``covers``); nor does its
    subject "reach a more privileged service account" by creating pods (CNSEC-RBAC-030)."""
    catalog = risk_catalog()
    out: list[RiskyGrant] = []
    by_sa: dict[tuple[str, str], list[RiskyGrant]] = {}
    pod_creators: list[RiskyGrant] = []
    admins: dict[tuple[str, str, str | None], list[str | None]] = {}  # who -> scopes it is admin in
    for b in model.bindings:
        role = model.role_for(b)
        if role is None:
            model.problems.append(f"{b.key}: role {b.role_key} is not in the input (not audited)")
            continue
        admin_rule = role_grants_entry(role.rules, catalog[FULL_ADMIN]) if FULL_ADMIN in catalog else None
        covered: list[str] = []
        for entry in catalog.values():
            if entry.path:
                continue
            if entry.subjects:
                matched = [s for s in b.subjects if s.kind in ("User", "Group") and s.name in entry.subjects]
                if not matched or not role.rules:
                    continue
                if entry.id == "CNSEC-RBAC-026" and not any(
                        role_grants_entry(role.rules, e) for e in catalog.values()
                        if not e.subjects and not e.path and e.severity >= Severity.HIGH):
                    continue
                for s in matched:
                    out.append(RiskyGrant(entry, s, b, role, None, entry.severity))
                continue
            if entry.cluster_scoped and b.scope is not None:
                continue
            if entry.namespaces and b.scope is not None and b.scope not in entry.namespaces:
                continue
            rule = role_grants_entry(role.rules, entry)
            if rule is None:
                continue
            sev = adjusted_severity(entry, b.scope, rule)
            if admin_rule is not None and entry.id != FULL_ADMIN:
                covered.append(entry.id)
                if entry.id == "CNSEC-RBAC-010":  # pod creation still opens paths beyond the role's scope
                    pod_creators.extend(RiskyGrant(entry, s, b, role, rule, sev) for s in b.subjects)
                continue
            for s in b.subjects:
                g = RiskyGrant(entry, s, b, role, rule, sev)
                out.append(g)
                if s.kind == "ServiceAccount" and s.namespace:
                    by_sa.setdefault((s.namespace, s.name), []).append(g)
                if entry.id == "CNSEC-RBAC-010":
                    pod_creators.append(g)
                if entry.id == FULL_ADMIN:
                    admins.setdefault((s.kind, s.name, s.namespace), []).append(b.scope)
        if covered:
            out[:] = [replace(g, covers=tuple(covered)) if g.binding is b and g.entry.id == FULL_ADMIN else g
                      for g in out]
    path_entry = next((e for e in catalog.values() if e.path == "pod-creation"), None)
    if path_entry is not None:
        out.extend(_pod_creation_paths(model, path_entry, pod_creators, by_sa, admins))
    wl_entry = next((e for e in catalog.values() if e.path == "workload"), None)
    if wl_entry is not None:
        out.extend(_workload_tokens(model, wl_entry, by_sa))
    return out


def _workload_tokens(model: RbacModel, entry: RiskEntry,
                     by_sa: dict[tuple[str, str], list[RiskyGrant]]) -> Iterator[RiskyGrant]:
    """A workload that mounts a powerful service account's token hands those rights to whoever
    compromises the workload."""
    for (ns, sa), workloads in sorted(model.workload_sas.items()):
        if (ns, sa) in model.no_automount:
            explicit = [w for w in workloads if _pod_spec_value(w, "automountServiceAccountToken") is True]
            if not explicit:
                continue
            workloads = explicit
        worst = max(by_sa.get((ns, sa), []), key=lambda g: g.severity, default=None)
        if worst is None or worst.severity < Severity.HIGH:
            continue
        for w in workloads:
            via = (f"{w.kind} {ns}/{w.name} mounts its token, and it {worst.entry.title.lower()} "
                   f"({worst.scope})")
            yield RiskyGrant(entry, worst.subject, worst.binding, worst.role, worst.rule, worst.severity, via,
                             workload=w)


def _pod_spec_value(res: K8sResource, key: str) -> Any:
    path = pod_spec_path(res)
    return res.get(*path, key) if path is not None else None


def _pod_creation_paths(model: RbacModel, entry: RiskEntry, creators: list[RiskyGrant],
                        by_sa: dict[tuple[str, str], list[RiskyGrant]],
                        admins: dict[tuple[str, str, str | None], list[str | None]]) -> Iterator[RiskyGrant]:
    """A subject that can create pods in a namespace can use any service account there, unless it is
    already admin there (cluster-wide, or in that namespace): no service account has more."""
    for c in creators:
        admin_in = admins.get((c.subject.kind, c.subject.name, c.subject.namespace), [])
        if None in admin_in:
            continue
        for (ns, sa), grants in sorted(by_sa.items()):
            if c.binding.scope is not None and ns != c.binding.scope:
                continue
            if ns in admin_in:  # admin of the namespace: only a cluster-wide grant is more
                grants = [g for g in grants if g.binding.scope is None]
            if c.subject.kind == "ServiceAccount" and (c.subject.namespace, c.subject.name) == (ns, sa):
                continue
            worst = max((g for g in grants if g.entry.id not in ("CNSEC-RBAC-010", "CNSEC-RBAC-011")),
                        key=lambda g: g.severity, default=None)
            if worst is None or worst.severity < Severity.HIGH or worst.severity <= c.severity:
                continue
            via = (f"it can run a pod as ServiceAccount {ns}/{sa}, which {worst.entry.title.lower()} "
                   f"({worst.scope}, via {worst.binding.key})")
            yield RiskyGrant(entry, c.subject, c.binding, c.role, c.rule, worst.severity, via)
