from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-136",
    title="Secrets Manager secret not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_secretsmanager_secret",),
    threats=("secret-access",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set kms_key_id to a customer-managed KMS key (not the aws/secretsmanager alias).",
    equivalents={"checkov": ("CKV_AWS_149",)},
)
def aws_secret_cmk(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Under the AWS-managed key, reading the secret needs only secretsmanager:GetSecretValue; a
    customer-managed key adds a second, separately granted and audited permission (kms:Decrypt)."""
    key = setting(r, "kms_key_id")
    if key is UNKNOWN or (key and "aws/" not in str(key)):
        return
    yield Hit(f"{r.address} is encrypted with the AWS-managed key", line=r.line_of("kms_key_id"),
              location="kms_key_id", fix="kms_key_id = aws_kms_key.secrets.arn")
