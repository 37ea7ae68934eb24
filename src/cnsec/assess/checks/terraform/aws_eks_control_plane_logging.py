from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import as_list
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@check(
    id="CNSEC-TF-102",
    title="EKS control plane logging not enabled for every log type",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_eks_cluster",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation=('Set enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", '
                 '"scheduler"].'),
    equivalents={"checkov": ("CKV_AWS_37",)},
)
def aws_eks_control_plane_logging(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without the audit and authenticator logs nobody can tell who did what to the cluster: a stolen
    token's use, a new cluster-admin binding or a secret read leave no trace."""
    value = setting(r, "enabled_cluster_log_types")
    if value is UNKNOWN:
        return
    enabled = {str(v) for v in as_list(value)}
    missing = [t for t in LOG_TYPES if t not in enabled]
    if not missing:
        return
    yield Hit(f"{r.address} does not log {', '.join(missing)}", line=r.line_of("enabled_cluster_log_types"),
              location="enabled_cluster_log_types",
              fix='enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]')
