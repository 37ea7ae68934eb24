from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-142",
    title="CloudTrail trail covers one region only",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_cloudtrail",),
    threats=("defense-evasion", "resource-hijacking"),
    control="CTRL-LOGGING",
    remediation="Set is_multi_region_trail = true (and include_global_service_events = true).",
    equivalents={"checkov": ("CKV_AWS_67",)},
)
def aws_cloudtrail_multi_region(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Attackers mine and stage in the regions nobody uses; a single-region trail does not see them."""
    yield from require_on(r, ("is_multi_region_trail",), "records one region only",
                          "is_multi_region_trail = true")
