from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-135",
    title="Secrets Manager secret not rotated",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_secretsmanager_secret",),
    threats=("credential-abuse", "secret-access"),
    control="CTRL-KEY-ROTATION",
    remediation=("Add an aws_secretsmanager_secret_rotation with a rotation Lambda and "
                 "rotation_rules { automatically_after_days = 30 }."),
    equivalents={"checkov": ("CKV2_AWS_57",)},
)
def aws_secret_rotation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A secret that never changes stays valid in every log, backup and laptop it ever leaked to."""
    if linked(ctx, r, ("aws_secretsmanager_secret_rotation",), "secret_id"):
        return
    yield Hit(f"{r.address} has no rotation", line=r.line, location="rotation",
              fix=(f'resource "aws_secretsmanager_secret_rotation" "{r.name}" {{\n'
                   f"  secret_id           = aws_secretsmanager_secret.{r.name}.id\n"
                   "  rotation_lambda_arn = aws_lambda_function.rotate.arn\n"
                   "  rotation_rules {\n    automatically_after_days = 30\n  }\n}"))
