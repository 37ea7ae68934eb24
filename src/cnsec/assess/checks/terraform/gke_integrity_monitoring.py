from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import is_false, node_configs, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-317",
    title="GKE nodes with integrity monitoring turned off",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_container_cluster", "google_container_node_pool"),
    threats=("backdoor-persistence", "defense-evasion"),
    control="CTRL-HOST-HARDENING",
    remediation="Remove enable_integrity_monitoring = false (it is on by default) from shielded_instance_config.",
    equivalents={"checkov": ("CKV_GCP_72",)},
)
def gke_integrity_monitoring(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Integrity monitoring compares each boot with a known-good baseline and reports a changed boot
    chain; turned off, a tampered node looks healthy.

    Integrity monitoring is on unless set to false, so only ``false`` fails (Checkov also fails a
    ``shielded_instance_config`` that leaves it out).
    """
    for cfg in node_configs(r):
        if is_false((sub(cfg, "shielded_instance_config") or {}).get("enable_integrity_monitoring")):
            yield Hit(f"{r.address} turns integrity monitoring off on its nodes", line=r.line_of("node_config"),
                      location="node_config.shielded_instance_config.enable_integrity_monitoring",
                      fix="enable_integrity_monitoring = true")
            return
