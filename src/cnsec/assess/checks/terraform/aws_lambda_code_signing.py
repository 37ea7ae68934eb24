from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-148",
    title="Lambda function does not verify code signatures",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("malicious-image", "backdoor-persistence"),
    control="CTRL-IMAGE-PINNING",
    remediation="Create an aws_lambda_code_signing_config and set code_signing_config_arn.",
    equivalents={"checkov": ("CKV_AWS_272",)},
)
def aws_lambda_code_signing(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without signature checks anyone with lambda:UpdateFunctionCode can swap in a backdoor; with
    them only code signed by your signing profile deploys."""
    yield from require_set(r, ("code_signing_config_arn",), "does not require signed code",
                           "code_signing_config_arn = aws_lambda_code_signing_config.this.arn")
