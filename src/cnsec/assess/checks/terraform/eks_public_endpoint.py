from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, is_expr, open_cidr, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-013",
    title="EKS API endpoint public to the internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_eks_cluster",),
    threats=("exposed-interface", "unauthenticated-access"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("In vpc_config set endpoint_private_access = true and endpoint_public_access = false, or "
                 "at least restrict public_access_cidrs to your office/VPN ranges."),
    equivalents={"checkov": ("CKV_AWS_39", "CKV_AWS_38")},
)
def eks_public_endpoint(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A public Kubernetes API endpoint open to 0.0.0.0/0 (the default) is one leaked kubeconfig, token
    or API-server vulnerability away from a cluster takeover.

    The endpoint is public by default and open to the world unless ``public_access_cidrs`` says
    otherwise. We pass a public endpoint restricted to specific CIDRs (Checkov's CKV_AWS_39 fails any
    public endpoint; its CKV_AWS_38 fails 0.0.0.0/0).
    """
    vpc = r.blocks("vpc_config")
    cfg = vpc[0] if vpc else {}
    public = truth(cfg.get("endpoint_public_access"))
    if public is False or (public is None and cfg.get("endpoint_public_access") is not None):
        return
    cidrs = cfg.get("public_access_cidrs")
    if cidrs is not None and (is_expr(cidrs) or not open_cidr(cidrs)) and as_list(cidrs):
        return
    yield Hit(f"{r.address} exposes its Kubernetes API endpoint to the whole internet",
              line=r.line_of("vpc_config"), location="vpc_config.endpoint_public_access",
              fix="vpc_config {\n  endpoint_private_access = true\n  endpoint_public_access  = false\n}")
