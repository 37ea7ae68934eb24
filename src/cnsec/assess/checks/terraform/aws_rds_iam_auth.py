from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_on, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-110",
    title="RDS database without IAM authentication",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster"),
    threats=("credential-abuse",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Set iam_database_authentication_enabled = true and let applications connect with "
                 "short-lived IAM tokens instead of stored passwords."),
    equivalents={"checkov": ("CKV_AWS_161", "CKV_AWS_162")},
)
def aws_rds_iam_auth(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Database passwords live in config files, environment variables and CI secrets for years; IAM
    authentication replaces them with 15-minute tokens tied to a role that can be revoked.

    A DB instance is judged only for MySQL and PostgreSQL, the engines that support it (as Checkov).
    """
    if r.type == "aws_db_instance" and setting(r, "engine") not in ("mysql", "postgres"):
        return
    yield from require_on(r, ("iam_database_authentication_enabled",), "does not enable IAM authentication",
                          "iam_database_authentication_enabled = true")
