"""Drift between a live cluster and the manifests meant to describe it (``assess --cluster --compare``).

Three kinds of drift, each reported as a finding (so every format, baselines and ``--fail-on`` work):

* ``CNSEC-DRIFT-001`` live-only: an object runs that no manifest declares (applied by hand, by an
  operator, by another team). Only namespaces the manifests use are compared, and objects the
  control plane makes by itself (each namespace's ``default`` ServiceAccount and
  ``kube-root-ca.crt`` ConfigMap, service-account token Secrets) are left out;
* ``CNSEC-DRIFT-002`` manifest-only: a manifest's object is not in the cluster. Only kinds whose list
  was read in full are compared (a forbidden list proves no absence);
* ``CNSEC-DRIFT-003`` changed security field: a field that decides security differs (images,
  privileges, capabilities, host namespaces and paths, service account and token mounting, Service
  type, RBAC rules, subjects and role references, NetworkPolicy and Ingress specs). Only fields from
  that list are compared, so the API server's defaults (``imagePullPolicy``, ``dnsPolicy``…) are not
  drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import pod_spec_path
from cnsec.model.finding import Finding, finding_id
from cnsec.model.report import RuleInfo
from cnsec.model.severity import Severity
from cnsec.model.source import Source

if TYPE_CHECKING:
    from cnsec.k8s.live.reader import ClusterRead
    from cnsec.model.report import Report

RULES = {
    "CNSEC-DRIFT-001": ("Object in the cluster but in no manifest", Severity.LOW,
                        "Add it to the manifests (so it is reviewed and assessed) or delete it from the cluster."),
    "CNSEC-DRIFT-002": ("Manifest object missing from the cluster", Severity.INFO,
                        "Apply the manifests, or delete the manifest if the object is gone on purpose."),
    "CNSEC-DRIFT-003": ("Security field differs between the cluster and the manifest", Severity.MEDIUM,
                        "Re-apply the manifest, or change the manifest to what the cluster runs after review."),
}
#: an object nobody declared, or a privilege changed in place, is how a foothold persists unreviewed
THREATS = {"CNSEC-DRIFT-001": ("backdoor-persistence",), "CNSEC-DRIFT-002": (),
           "CNSEC-DRIFT-003": ("backdoor-persistence", "defense-evasion")}
POD_FIELDS = ("hostNetwork", "hostPID", "hostIPC", "serviceAccountName", "automountServiceAccountToken",
              "securityContext", "shareProcessNamespace")
CONTAINER_FIELDS = ("image", "securityContext", "command", "args")
WHOLE = {  # kind → top-level fields compared whole
    "Role": ("rules",), "ClusterRole": ("rules", "aggregationRule"), "RoleBinding": ("roleRef", "subjects"),
    "ClusterRoleBinding": ("roleRef", "subjects"), "NetworkPolicy": ("spec",), "Ingress": ("spec",),
    "ServiceAccount": ("automountServiceAccountToken",),
}
AUTO = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}


def _key(res: K8sResource) -> tuple[str, str | None, str]:
    return res.kind, res.effective_namespace, res.name


def security_fields(res: K8sResource) -> Iterator[tuple[str, Any]]:
    """(field path, value) of the fields drift compares."""
    for name in WHOLE.get(res.kind, ()):
        yield name, res.doc.get(name)
    if res.kind == "Service":
        yield "spec.type", res.get("spec", "type")
        ports = res.get("spec", "ports")
        yield "spec.ports", sorted((str(p.get("port")), str(p.get("nodePort") or "")) for p in ports
                                   if isinstance(p, dict)) if isinstance(ports, list) else None
    path = pod_spec_path(res)
    if path is None:
        return
    spec = res.get(*path)
    if not isinstance(spec, dict):
        return
    where = ".".join(path)
    for name in POD_FIELDS:
        yield f"{where}.{name}", spec.get(name)
    volumes = spec.get("volumes")
    yield f"{where}.volumes(hostPath)", sorted(str((v.get("hostPath") or {}).get("path")) for v in volumes
                                               if isinstance(v, dict) and v.get("hostPath")) \
        if isinstance(volumes, list) else []
    for group in ("initContainers", "containers"):
        containers = spec.get(group)
        for c in containers if isinstance(containers, list) else ():
            if isinstance(c, dict):
                for name in CONTAINER_FIELDS:
                    yield f"{where}.{group}[{c.get('name')}].{name}", c.get(name)


def _empty(value: Any) -> bool:
    return value in (None, {}, [], "")


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:119] + "…"


def drift_findings(read: ClusterRead, manifests: list[K8sResource]) -> list[Finding]:
    live = {_key(r): r for r in read.resources}
    declared = {_key(r): r for r in manifests}
    namespaces = {k[1] for k in declared if k[1] is not None}
    if read.namespace is not None:
        namespaces &= {read.namespace}
    out: list[Finding] = []

    def add(rule: str, res: K8sResource, source: Source, message: str, location: str = "") -> None:
        title, severity, remediation = RULES[rule]
        asset = "/".join(x for x in _key(res) if x)
        out.append(Finding(finding_id(rule, asset, location), rule, title, severity, asset, source, message,
                           THREATS[rule], remediation, location=location))

    for key, res in live.items():
        kind, ns, name = key
        if key in declared or ns not in namespaces or (kind, name) in AUTO:
            continue
        if kind == "Secret" and name.startswith("default-token-"):
            continue
        add("CNSEC-DRIFT-001", res, Source(res.file), f"{kind} {ns}/{name} runs in the cluster but no manifest "
                                                      f"under the compared folder declares it")
    for key, res in declared.items():
        kind, ns, name = key
        in_scope = read.namespace is None or ns == read.namespace
        if not in_scope or key in live:
            continue
        if kind not in read.listed:
            continue
        add("CNSEC-DRIFT-002", res, Source(res.file, res.line), f"{kind} {'/'.join(x for x in key[1:] if x)} is "
                                                                f"declared here but not in the cluster")
    for key, res in declared.items():
        other = live.get(key)
        if other is None:
            continue
        mine = dict(security_fields(res))
        theirs = dict(security_fields(other))
        for path in sorted(set(mine) | set(theirs)):
            a, b = mine.get(path), theirs.get(path)
            if a == b or (_empty(a) and _empty(b)):
                continue
            add("CNSEC-DRIFT-003", res, Source(res.file, res.line),
                f"{path}: manifest {_show(a)}, cluster {_show(b)} ({other.file})", path)
    return out


def add_drift(report: Report, read: ClusterRead, folder: str) -> None:
    """Add the drift findings against the manifests under ``folder`` to a cluster assessment."""
    from cnsec.assess.inventory import load_inventory

    inv = load_inventory([folder])
    found = drift_findings(read, inv.k8s)
    report.errors.extend(inv.problems)
    report.skipped.extend(inv.skipped)
    report.findings.extend(found)
    for rule, (title, severity, remediation) in RULES.items():
        report.rules[rule] = RuleInfo(id=rule, title=title, severity=severity, remediation=remediation,
                                      description=title, threat_ids=THREATS[rule], target="drift")
    counts = {rule: sum(1 for f in found if f.check_id == rule) for rule in RULES}
    report.stats["drift"] = {"compared_with": folder, "live_only": counts["CNSEC-DRIFT-001"],
                             "manifest_only": counts["CNSEC-DRIFT-002"], "changed": counts["CNSEC-DRIFT-003"]}
