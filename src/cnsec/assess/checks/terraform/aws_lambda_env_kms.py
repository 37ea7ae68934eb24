from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-147",
    title="Lambda environment variables not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("secret-access",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set kms_key_arn to a customer-managed KMS key (and keep secrets in Secrets Manager).",
    equivalents={"checkov": ("CKV_AWS_173",)},
)
def aws_lambda_env_kms(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Environment variables are shown to anyone with lambda:GetFunctionConfiguration when they are
    under the AWS-managed key; a customer-managed key makes reading them need kms:Decrypt too."""
    if not r.blocks("environment") or not unset(r, "kms_key_arn"):
        return
    yield Hit(f"{r.address} keeps environment variables under the AWS-managed key", line=r.line_of("environment"),
              location="kms_key_arn", fix="kms_key_arn = aws_kms_key.lambda.arn")
