from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import INSTANCES, from_template
from cnsec.assess.checks.terraform._tf import nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-305",
    title="Compute instance with a public IP address",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=INSTANCES,
    threats=("exposed-interface",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Remove the access_config block: reach the VM through IAP TCP forwarding or a bastion, and the "
                 "internet through Cloud NAT; put public services behind a load balancer."),
    equivalents={"checkov": ("CKV_GCP_40",)},
)
def gcp_compute_public_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An ``access_config`` gives the VM an external IP: every open port (and every firewall mistake)
    faces the internet directly instead of a load balancer or IAP.

    Every network interface is looked at (Checkov only the first); a dynamic ``access_config`` whose
    count is unknown is not reported.
    """
    if from_template(r, "network_interface"):
        return
    for n, nic in enumerate(r.blocks("network_interface")):
        configs = nic.get("access_config")
        if isinstance(configs, list) and configs:
            yield Hit(f"{r.address} network interface {n} has an access_config: the VM gets a public IP",
                      line=nth_block_line(r, ctx, "network_interface", n), location=f"network_interface[{n}]",
                      fix="# delete the access_config block; use Cloud NAT for egress and IAP for SSH")
            return
