from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-144",
    title="Lambda function without a concurrency limit",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("denial-of-service", "resource-hijacking"),
    control="CTRL-RESOURCE-LIMITS",
    remediation="Set reserved_concurrent_executions to the concurrency the function needs.",
    equivalents={"checkov": ("CKV_AWS_115",)},
)
def aws_lambda_concurrency(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a limit one flooded function takes the account's whole concurrency (denying every other
    function) and runs up the bill: a denial of wallet."""
    value = setting(r, "reserved_concurrent_executions")
    if value is UNKNOWN or (value is not None and to_int(value) != -1):
        return
    yield Hit(f"{r.address} has no reserved concurrency limit", line=r.line_of("reserved_concurrent_executions"),
              location="reserved_concurrent_executions", fix="reserved_concurrent_executions = 10")
