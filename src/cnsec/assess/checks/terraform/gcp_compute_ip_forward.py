from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-330",
    title="Compute instance can forward IP packets",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_compute_instance", "google_compute_instance_template",
                    "google_compute_region_instance_template"),
    threats=("lateral-movement", "network-interception"),
    control="CTRL-HOST-HARDENING",
    remediation="Set can_ip_forward = false unless the VM is a router or NAT appliance (then document it).",
    equivalents={"checkov": ("CKV_GCP_36",)},
)
def gcp_compute_ip_forward(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A VM that forwards packets for other addresses can route around firewall rules and
    spoof sources once compromised; only routers, NAT appliances and GKE nodes need it."""
    name = r.get("name")
    if isinstance(name, str) and name.startswith("gke-"):
        return  # GKE's own nodes route pod traffic and must forward
    if is_true(r.get("can_ip_forward")):
        yield Hit(f"{r.address} sets can_ip_forward = true", line=r.line_of("can_ip_forward"),
                  location="can_ip_forward", fix="can_ip_forward = false")
