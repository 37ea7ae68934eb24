from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, require_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-120",
    title="Load balancer access logging disabled",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_lb", "aws_alb", "aws_elb"),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Add access_logs { bucket = aws_s3_bucket.lb_logs.id, enabled = true }.",
    equivalents={"checkov": ("CKV_AWS_91", "CKV_AWS_92")},
)
def aws_lb_access_logs(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The load balancer's access log is the record of every request from the internet: scans,
    exploitation attempts and the attacker's addresses. Without it the front door has no camera."""
    kind = setting(r, "load_balancer_type")
    if kind is UNKNOWN or kind == "gateway":
        return
    yield from require_on(r, ("access_logs", "enabled"), "does not write access logs",
                          "access_logs {\n  bucket  = aws_s3_bucket.lb_logs.id\n  enabled = true\n}")
