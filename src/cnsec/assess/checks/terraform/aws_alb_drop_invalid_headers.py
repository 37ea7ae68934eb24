from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, require_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-122",
    title="Application load balancer forwards invalid HTTP headers",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_lb", "aws_alb"),
    threats=("network-interception", "exposed-interface"),
    control="CTRL-TLS",
    remediation="Set drop_invalid_header_fields = true.",
    equivalents={"checkov": ("CKV_AWS_131",)},
)
def aws_alb_drop_invalid_headers(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Header names the HTTP grammar forbids are how request smuggling and header-injection attacks
    reach the applications behind the balancer, which parse them differently."""
    kind = setting(r, "load_balancer_type")
    if kind is UNKNOWN or kind in ("gateway", "network"):
        return
    yield from require_on(r, ("drop_invalid_header_fields",), "forwards invalid HTTP header fields",
                          "drop_invalid_header_fields = true")
