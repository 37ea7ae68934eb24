from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import is_on, require_set, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-114",
    title="RDS Performance Insights not encrypted with a customer-managed key",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster_instance", "aws_rds_cluster"),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set performance_insights_kms_key_id to a customer-managed KMS key.",
    equivalents={"checkov": ("CKV_AWS_354",)},
)
def aws_rds_performance_insights_kms(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Performance Insights keeps the text of the top queries, literals included: personal data and
    secrets in WHERE clauses end up there, under the AWS-managed key anyone with RDS access can use."""
    if is_on(setting(r, "performance_insights_enabled")) is not True:
        return
    yield from require_set(r, ("performance_insights_kms_key_id",),
                           "keeps Performance Insights data without a customer-managed KMS key",
                           "performance_insights_kms_key_id = aws_kms_key.rds.arn")
