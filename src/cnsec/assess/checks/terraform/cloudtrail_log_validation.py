from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-016",
    title="CloudTrail log file validation disabled",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_cloudtrail",),
    threats=("defense-evasion", "data-tampering"),
    control="CTRL-LOGGING",
    remediation="Set enable_log_file_validation = true.",
    equivalents={"checkov": ("CKV_AWS_36",)},
)
def cloudtrail_log_validation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without digest files an intruder who reaches the log bucket can delete or edit the entries that
    show what they did, and nobody can prove it."""
    value = truth(r.get("enable_log_file_validation"))
    if value is True or (value is None and r.get("enable_log_file_validation") is not None):
        return
    yield Hit(f"{r.address} does not enable log file validation",
              line=r.line_of("enable_log_file_validation"), location="enable_log_file_validation",
              fix="enable_log_file_validation = true")
