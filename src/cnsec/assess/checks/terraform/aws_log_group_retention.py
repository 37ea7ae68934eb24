from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-100",
    title="CloudWatch log group keeps logs less than a year",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_cloudwatch_log_group",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Set retention_in_days to 365 or more (or 0 / unset: never expire).",
    equivalents={"checkov": ("CKV_AWS_338",)},
)
def aws_log_group_retention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Intrusions are found months after they start (the median dwell time is weeks to months): logs
    that expire in days are gone when the investigation needs them.

    An unset retention means the logs never expire (the provider's 0), which passes; Checkov's
    CKV_AWS_338 fails it too, which we judge wrong.
    """
    value = setting(r, "retention_in_days")
    days = to_int(value) if value is not UNKNOWN else None
    if days is None or days == 0 or days >= 365:
        return
    yield Hit(f"{r.address} keeps its logs for {days} days only", line=r.line_of("retention_in_days"),
              location="retention_in_days", fix="retention_in_days = 365")
