from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import INSTANCES, first, from_template, is_false, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

FIX = ("shielded_instance_config {\n  enable_secure_boot          = true\n  enable_vtpm                 = true\n"
       "  enable_integrity_monitoring = true\n}")


@check(
    id="CNSEC-TF-303",
    title="Compute instance without Shielded VM (vTPM and integrity monitoring)",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=INSTANCES,
    threats=("backdoor-persistence", "defense-evasion"),
    control="CTRL-HOST-HARDENING",
    remediation="Add shielded_instance_config with enable_secure_boot, enable_vtpm and enable_integrity_monitoring.",
    equivalents={"checkov": ("CKV_GCP_39",)},
)
def gcp_compute_shielded_vm(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Shielded VM measures the boot chain into a vTPM and alerts on changes: a bootkit or rootkit
    planted below the OS survives reboots and stays invisible without it.

    An instance made from a template that leaves the block to the template is unknown here.
    """
    if from_template(r, "shielded_instance_config"):
        return
    cfg = first(r, "shielded_instance_config")
    if cfg is None:
        if not may_have(r, "shielded_instance_config"):
            yield Hit(f"{r.address} has no shielded_instance_config", line=r.line,
                      location="shielded_instance_config", fix=FIX)
        return
    off = [k for k in ("enable_vtpm", "enable_integrity_monitoring") if is_false(cfg.get(k))]
    if off:
        yield Hit(f"{r.address} turns off {' and '.join(off)}", line=r.line_of("shielded_instance_config"),
                  location="shielded_instance_config", fix=FIX)
