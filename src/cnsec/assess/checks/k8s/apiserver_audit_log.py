from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, components
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-056",
    title="API server audit logging disabled",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation=("Start kube-apiserver with --audit-log-path (or --audit-webhook-config-file) and an "
                 "--audit-policy-file; keep logs with --audit-log-maxage=30 --audit-log-maxbackup=10."),
    equivalents={"checkov": ("CKV_K8S_91",), "kubescape": ("C-0067", "C-0130")},
)
def apiserver_audit_log(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without an audit log nobody can tell who read a Secret, created a pod or bound cluster-admin.

    Fails when the API server shows no audit configuration at all: none of ``--audit-log-path``
    (Checkov's CKV_K8S_91 signal), ``--audit-policy-file`` (Kubescape's C-0067 signal; RKE2 adds the
    log path itself) or ``--audit-webhook-config-file``. A working setup needs both a policy and a
    backend, which the remediation spells out. Kubescape's C-0067 also judges managed clusters from
    cloud API descriptions (``ClusterDescribe``), an input cnsec does not read.
    """
    for comp in components(w, APISERVER):
        if any(comp.has(f) for f in ("audit-log-path", "audit-policy-file", "audit-webhook-config-file")):
            continue
        yield Hit(f"kube-apiserver in container {comp.container.name!r} writes no audit log "
                  "(--audit-log-path is not set)", path=comp.at("audit-log-path"),
                  patch=comp.set_flag_patch(w.res, "audit-log-path", "/var/log/kubernetes/audit.log"),
                  fix="--audit-log-path=/var/log/kubernetes/audit.log "
                      "--audit-policy-file=/etc/kubernetes/audit-policy.yaml")
