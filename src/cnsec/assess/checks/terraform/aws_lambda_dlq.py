from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import require_set
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-145",
    title="Lambda function without a dead-letter queue",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("denial-of-service",),
    control="CTRL-MONITORING",
    remediation="Add dead_letter_config { target_arn = aws_sqs_queue.dlq.arn }.",
    equivalents={"checkov": ("CKV_AWS_116",)},
)
def aws_lambda_dlq(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Asynchronous events that keep failing are dropped silently; a dead-letter queue keeps them
    for inspection, which also shows poisoned or malicious payloads."""
    yield from require_set(r, ("dead_letter_config", "target_arn"), "has no dead-letter queue",
                           "dead_letter_config {\n  target_arn = aws_sqs_queue.dlq.arn\n}")
