"""The RBAC audit as a :class:`~cnsec.model.Report` of findings, so that table, JSON, SARIF, baselines
and ``--fail-on`` work as for every other findings command."""

from __future__ import annotations

import time
from collections.abc import Sequence

from cnsec.iam.rbac_audit import RiskyGrant, audit, load_model
from cnsec.k8s.rbac import RbacModel
from cnsec.k8s.rbac_risks import risk_catalog
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report, RuleInfo
from cnsec.model.source import Source


def grant_finding(g: RiskyGrant) -> Finding:
    b = g.binding
    file = b.res.file if b.res else "(input)"
    line = b.line_of(g.subject) or (b.res.line if b.res else None)
    asset_id = b.key
    location = f"{g.subject.identity.id}"
    if g.workload is not None:  # the finding is about the workload that carries the token
        w = g.workload
        ns = w.effective_namespace
        asset_id = f"{w.kind}/{ns}/{w.name}" if ns else f"{w.kind}/{w.name}"
        from cnsec.k8s.workload import pod_spec_path

        spec = pod_spec_path(w)
        file, line = w.file, (w.line_at(*spec, "serviceAccountName") if spec else w.line)
    elif g.via:
        location += f" via {g.via.split(',')[0]}"
    permission = g.rule.describe() if g.rule else f"any right of {g.role.key}"
    return Finding(
        id=finding_id(g.entry.id, asset_id, location), check_id=g.entry.id, title=g.entry.title,
        severity=g.severity, asset_id=asset_id, source=Source(file, line), message=g.message(),
        threat_ids=g.entry.threats, remediation="Narrow the role's rules (verbs, resources, resourceNames) or "
                                                 "remove the subject from the binding.",
        control_id="CTRL-RBAC-LEAST-PRIVILEGE", location=location,
        attrs={"subject": g.subject.to_dict(), "permission": permission, "why": g.entry.why,
               "binding": {"kind": b.kind, "name": b.name, "namespace": b.namespace},
               "role": {"kind": g.role.kind, "name": g.role.name, "namespace": g.role.namespace,
                        "source": g.role.source},
               "rule": g.rule.to_dict() if g.rule else None, "rule_index": g.rule.index if g.rule else None,
               "scope": g.scope, **({"path": g.via} if g.via else {}),
               **({"covers": list(g.covers)} if g.covers else {})},
    )


def model_report(model: RbacModel, target: str, problems: Sequence[InputProblem] = ()) -> Report:
    started = time.perf_counter()
    grants = audit(model)
    findings = [grant_finding(g) for g in grants]
    findings.sort(key=lambda f: (-int(f.severity), f.source.file, f.source.line or 0, f.check_id))
    errors = list(problems) + [InputProblem(target, None, p) for p in model.problems]
    rules = {e.id: RuleInfo(id=e.id, title=e.title, severity=e.severity, description=e.why,
                            threat_ids=e.threats, control_id="CTRL-RBAC-LEAST-PRIVILEGE", target="k8s-rbac")
             for e in risk_catalog().values()}
    report = Report(kind="rbac-audit", findings=findings, errors=errors, rules=rules, target=target)
    report.stats.update({"resources": model.resources, "bindings": len(model.bindings), "roles": len(model.roles),
                         "seconds": round(time.perf_counter() - started, 3)})
    return report


def audit_report(paths: Sequence[str]) -> Report:
    model, problems = load_model(paths)
    return model_report(model, ", ".join(paths), problems)
