from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import is_true, known, node_configs, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-316",
    title="GKE nodes without secure boot",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_container_cluster", "google_container_node_pool"),
    threats=("backdoor-persistence", "container-escape"),
    control="CTRL-HOST-HARDENING",
    remediation="Set node_config { shielded_instance_config { enable_secure_boot = true } } on every node pool.",
    equivalents={"checkov": ("CKV_GCP_68",)},
)
def gke_secure_boot(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Secure boot refuses unsigned boot components: without it a container escape can install a
    bootkit on the node that survives reboots and hides from the OS (GKE leaves it off by default).

    Autopilot clusters (always on) and clusters without their default node pool pass.
    """
    for cfg in node_configs(r):
        value = (sub(cfg, "shielded_instance_config") or {}).get("enable_secure_boot")
        if is_true(value) or (value is not None and not known(value)):
            continue
        yield Hit(f"{r.address} does not enable secure boot on its nodes", line=r.line_of("node_config"),
                  location="node_config.shielded_instance_config.enable_secure_boot",
                  fix="node_config {\n  shielded_instance_config {\n    enable_secure_boot          = true\n"
                      "    enable_integrity_monitoring = true\n  }\n}")
        return
