from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import is_on, setting, unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-159",
    title="SQS queue not encrypted at rest",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_sqs_queue",),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation="Set kms_master_key_id (customer-managed key) or leave sqs_managed_sse_enabled on.",
    equivalents={"checkov": ("CKV_AWS_27",)},
)
def aws_sqs_unencrypted(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Messages carry orders, tokens and personal data; an unencrypted queue keeps them in the clear.

    New queues get SSE-SQS unless ``sqs_managed_sse_enabled = false``: only that, without a KMS key,
    fails (Checkov's CKV_AWS_27 also fails an unset setting, which AWS encrypts: judged wrong).
    """
    if not unset(r, "kms_master_key_id") or is_on(setting(r, "sqs_managed_sse_enabled")) is not False \
            or setting(r, "sqs_managed_sse_enabled") is None:
        return
    yield Hit(f"{r.address} turns server-side encryption off", line=r.line_of("sqs_managed_sse_enabled"),
              location="sqs_managed_sse_enabled", fix="kms_master_key_id = aws_kms_key.queue.arn")
