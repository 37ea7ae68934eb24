from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-152",
    title="Default VPC managed and kept",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_default_vpc",),
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation="Delete the default VPC (force_destroy = true, then remove it) and build networks explicitly.",
    equivalents={"checkov": ("CKV_AWS_148",)},
)
def aws_default_vpc(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The default VPC's subnets are public and its default group open inside: whatever lands there by
    accident is on the internet."""
    if r.get("force_destroy") is True:
        return
    yield Hit(f"{r.address} keeps the region's default VPC", line=r.line, location="aws_default_vpc",
              fix="force_destroy = true  # then remove the resource: the default VPC is deleted")
