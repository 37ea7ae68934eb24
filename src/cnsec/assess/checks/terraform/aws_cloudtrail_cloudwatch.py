from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-141",
    title="CloudTrail not delivered to CloudWatch Logs",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_cloudtrail",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Set cloud_watch_logs_group_arn (\"${aws_cloudwatch_log_group.trail.arn}:*\") and "
                "cloud_watch_logs_role_arn, and alarm on the events that matter.",
    equivalents={"checkov": ("CKV2_AWS_10",)},
)
def aws_cloudtrail_cloudwatch(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A trail kept only in S3 is read after the fact; in CloudWatch Logs metric filters and alarms
    see root logins, policy changes and disabled trails as they happen (CIS AWS 3.4, 4.x)."""
    yield from require_set(r, ("cloud_watch_logs_group_arn",), "is not delivered to CloudWatch Logs",
                           'cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.trail.arn}:*"\n'
                           "cloud_watch_logs_role_arn  = aws_iam_role.trail.arn")
