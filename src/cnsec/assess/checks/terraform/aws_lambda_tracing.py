from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-143",
    title="Lambda function without X-Ray tracing",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("defense-evasion",),
    control="CTRL-MONITORING",
    remediation='Add tracing_config { mode = "Active" }.',
    equivalents={"checkov": ("CKV_AWS_50",)},
)
def aws_lambda_tracing(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Traces show which downstream services a function called and when: the trail of an abused
    function's calls to S3, secrets or other accounts."""
    mode = setting(r, "tracing_config", "mode")
    if mode is UNKNOWN or mode in ("Active", "PassThrough"):
        return
    yield Hit(f"{r.address} does not trace with X-Ray", line=r.line_of("tracing_config"),
              location="tracing_config.mode", fix='tracing_config {\n  mode = "Active"\n}')
