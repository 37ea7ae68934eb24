from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import off
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-108",
    title="EC2 instance without detailed monitoring",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_instance",),
    threats=("resource-hijacking",),
    control="CTRL-MONITORING",
    remediation="Set monitoring = true (one-minute CloudWatch metrics).",
    equivalents={"checkov": ("CKV_AWS_126",)},
)
def aws_instance_monitoring(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Five-minute metrics smooth away the CPU and network spikes of a cryptominer or a data transfer;
    one-minute metrics let an alarm see them."""
    if not off(r, "monitoring"):
        return
    yield Hit(f"{r.address} does not enable detailed monitoring", line=r.line_of("monitoring"),
              location="monitoring", fix="monitoring = true")
