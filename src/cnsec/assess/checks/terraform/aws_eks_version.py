from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Kubernetes minors EKS supports (standard or extended), as Checkov 3.3.30 lists them.
SUPPORTED = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35")


@check(
    id="CNSEC-TF-153",
    title="EKS cluster on an unsupported Kubernetes version",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_eks_cluster",),
    threats=("cluster-takeover",),
    control="CTRL-PATCHING",
    remediation=f'Upgrade to a supported version: version = "{SUPPORTED[-2]}".',
    equivalents={"checkov": ("CKV_AWS_339",)},
)
def aws_eks_version(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Versions out of support get no Kubernetes CVE fixes; EKS upgrades them forcibly at a time
    not of your choosing."""
    version = setting(r, "version")
    if version is None or version is UNKNOWN or str(version) in SUPPORTED:
        return
    yield Hit(f"{r.address} runs Kubernetes {version}", line=r.line_of("version"), location="version",
              fix=f'version = "{SUPPORTED[-2]}"')
