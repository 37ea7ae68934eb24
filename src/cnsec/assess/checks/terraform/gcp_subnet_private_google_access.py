from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import PROXY_PURPOSES, is_true, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-302",
    title="GCP subnet without Private Google Access",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_compute_subnetwork",),
    threats=("exposed-interface",),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set private_ip_google_access = true so VMs without external IPs reach Google APIs privately.",
    equivalents={"checkov": ("CKV_GCP_74",)},
)
def gcp_subnet_private_google_access(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without Private Google Access a VM needs an external IP (or a NAT) to reach Cloud Storage, the
    registries and the other Google APIs, which pushes teams to give VMs public addresses.

    Proxy-only and Private Service Connect subnets pass (the setting does not apply to them).
    """
    value = r.get("private_ip_google_access")
    if str(r.get("purpose") or "").upper() in PROXY_PURPOSES or is_true(value) or not known(value):
        return
    yield Hit(f"{r.address} does not enable Private Google Access", line=r.line_of("private_ip_google_access"),
              location="private_ip_google_access", fix="private_ip_google_access = true")
