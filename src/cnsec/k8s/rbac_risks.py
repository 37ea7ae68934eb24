"""Which Kubernetes RBAC grants are risky: the catalog (``data/rbac-risks.yaml``, CNSEC-RBAC-001 … 031) and
how a role's rules are matched against it, with the RBAC authorizer's own semantics (:mod:`cnsec.k8s.rbac`).

Two pillars judge RBAC with it: ``cnsec iam audit`` (per subject, through bindings:
:mod:`cnsec.iam.rbac_audit`) and the assess RBAC checks (per Role/ClusterRole rule: :func:`role_rule_hits`).
It lives under both, so they agree on what is risky without one reaching into the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources as ires
from typing import Any

from cnsec.k8s.rbac import PRIVILEGED_NAMESPACES, PolicyRule, Request, roledef_from_resource, rule_allows, strs
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@dataclass(frozen=True, slots=True)
class RiskEntry:
    id: str
    title: str
    severity: Severity
    threats: tuple[str, ...]
    why: str
    any: tuple[Request, ...] = ()
    all: tuple[tuple[Request, ...], ...] = ()
    wildcard: tuple[str, ...] = ()
    wildcard_any: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    cluster_scoped: bool = False
    path: str = ""


def _expand(spec: Any) -> tuple[Request, ...]:
    if not isinstance(spec, dict):
        return ()
    out = []
    for v in strs(spec.get("verbs")):
        for g in strs(spec.get("apiGroups")) or ("",):
            for r in strs(spec.get("resources")):
                base, _, sub = r.partition("/")
                out.append(Request(verb=v, resource=base, subresource=sub, api_group=g, name="\x00any"))
    return tuple(out)


@lru_cache(maxsize=1)
def risk_catalog() -> dict[str, RiskEntry]:
    import yaml

    text = ires.files("cnsec.k8s").joinpath("data/rbac-risks.yaml").read_text(encoding="utf-8")
    out: dict[str, RiskEntry] = {}
    for e in yaml.safe_load(text):
        out[e["id"]] = RiskEntry(
            id=e["id"], title=e["title"], severity=Severity.parse(e["severity"]),
            threats=tuple(e.get("threats", ())), why=e.get("why", ""), any=_expand(e.get("any")),
            all=tuple(_expand(x) for x in e.get("all", ())), wildcard=tuple(e.get("wildcard", ())),
            wildcard_any=tuple(e.get("wildcard_any", ())), subjects=tuple(e.get("subjects", ())),
            namespaces=tuple(e.get("namespaces", ())), cluster_scoped=bool(e.get("cluster_scoped")),
            path=str(e.get("path", "")))
    return out


_FIELD = {"verbs": "verbs", "resources": "resources", "apiGroups": "api_groups"}


def _rule_grants_any(rule: PolicyRule, reqs: Iterable[Request]) -> bool:
    """A rule grants a catalog permission if it allows it for *some* object name: resourceNames narrow
    the grant (and lower the severity) but do not remove it."""
    for req in reqs:
        if rule.resource_names and req.name == "\x00any":
            widened = PolicyRule(rule.verbs, rule.api_groups, rule.resources, (), rule.non_resource_urls,
                                 rule.index, rule.origin)
            if rule_allows(widened, req):
                return True
        elif rule_allows(rule, req):
            return True
    return False


def rule_matches_entry(rule: PolicyRule, entry: RiskEntry) -> bool:
    """Whether this one rule grants the entry's primary permission (``all`` is checked per role)."""
    if entry.wildcard:
        return all("*" in getattr(rule, _FIELD[f]) for f in entry.wildcard)
    if entry.wildcard_any:
        full = all("*" in getattr(rule, _FIELD[f]) for f in ("verbs", "resources", "apiGroups"))
        return not full and any("*" in getattr(rule, _FIELD[f]) for f in entry.wildcard_any)
    if entry.any:
        return _rule_grants_any(rule, entry.any)
    return False


def role_grants_entry(rules: Sequence[PolicyRule], entry: RiskEntry) -> PolicyRule | None:
    """The first rule that grants ``entry`` when all of the entry's extra requirements hold too."""
    first = next((r for r in rules if rule_matches_entry(r, entry)), None)
    if first is None:
        return None
    for alternatives in entry.all:
        if not any(_rule_grants_any(r, alternatives) for r in rules):
            return None
    return first


def adjusted_severity(entry: RiskEntry, scope: str | None, rule: PolicyRule | None) -> Severity:
    sev = int(entry.severity)
    if scope is not None and scope not in PRIVILEGED_NAMESPACES:
        sev -= 1
    if rule is not None and rule.resource_names:
        sev -= 1
    return Severity(max(sev, int(Severity.LOW)))


def role_rule_hits(res: K8sResource, entry_ids: Sequence[str]) -> list[tuple[int, RiskEntry]]:
    """For the assess checks: (rule index, first matching entry) for each rule of a Role/ClusterRole
    that grants one of ``entry_ids`` (an entry with ``all`` requirements only if the role meets them).
    Never raises on odd input (non-list rules, null fields)."""
    catalog = risk_catalog()
    rules = roledef_from_resource(res).rules
    found: dict[int, RiskEntry] = {}
    for eid in entry_ids:
        entry = catalog[eid]
        if res.kind == "Role" and (entry.cluster_scoped or (
                entry.namespaces and res.effective_namespace not in entry.namespaces)):
            continue  # a namespaced Role cannot grant cluster-scoped resources or other namespaces
        if entry.all and role_grants_entry(rules, entry) is None:
            continue
        for rule in rules:
            if rule_matches_entry(rule, entry):
                found.setdefault(rule.index, entry)
    return sorted(found.items(), key=lambda kv: kv[0])
