from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import PROXY_PURPOSES, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_ON = ("ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE", "ENABLE_BIDIRECTIONAL_ACCESS_TO_GOOGLE")


@check(
    id="CNSEC-TF-342",
    title="Dual-stack GCP subnet without Private Google Access over IPv6",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_compute_subnetwork",),
    threats=("exposed-interface",),
    control="CTRL-PUBLIC-ACCESS",
    remediation='Set private_ipv6_google_access = "ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE" on IPV4_IPV6 subnets.',
    equivalents={"checkov": ("CKV_GCP_76",)},
)
def gcp_subnet_ipv6_private_google_access(r: TfResource, ctx: object) -> Iterator[Hit]:
    """On a dual-stack subnet, VMs without external IPv6 addresses reach Google APIs over IPv6 only
    with this setting; without it teams hand out external addresses (the IPv6 twin of CNSEC-TF-302).
    Only IPV4_IPV6 subnets are looked at."""
    if r.get("stack_type") != "IPV4_IPV6" or str(r.get("purpose") or "").upper() in PROXY_PURPOSES:
        return
    value = r.get("private_ipv6_google_access")
    if value in _ON or (value is not None and not known(value)):
        return
    yield Hit(f"{r.address} does not enable Private Google Access over IPv6",
              line=r.line_of("private_ipv6_google_access"), location="private_ipv6_google_access",
              fix='private_ipv6_google_access = "ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE"')
