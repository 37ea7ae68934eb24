from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import PROXY_PURPOSES, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-301",
    title="GCP subnet without VPC flow logs",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_compute_subnetwork",),
    threats=("defense-evasion", "lateral-movement"),
    control="CTRL-LOGGING",
    remediation="Add a log_config block (aggregation_interval, flow_sampling, metadata) to the subnet.",
    equivalents={"checkov": ("CKV_GCP_26",)},
)
def gcp_subnet_flow_logs(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without flow logs there is no record of which hosts talked to which: a compromised VM's scanning,
    lateral movement and exfiltration leave no network trace to investigate.

    Proxy-only and Private Service Connect subnets carry no VMs and cannot log flows: they pass.
    """
    if str(r.get("purpose") or "").upper() in PROXY_PURPOSES or may_have(r, "log_config"):
        return
    yield Hit(f"{r.address} has no log_config: VPC flow logs are off", line=r.line, location="log_config",
              fix=('log_config {\n  aggregation_interval = "INTERVAL_5_SEC"\n  flow_sampling        = 0.5\n'
                   '  metadata             = "INCLUDE_ALL_METADATA"\n}'))
