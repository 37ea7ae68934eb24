from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-025",
    title="EC2 instance metadata service v1 allowed",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_instance", "aws_launch_template", "aws_launch_configuration"),
    threats=("credential-abuse", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Require IMDSv2: metadata_options { http_tokens = \"required\" "
                 "http_put_response_hop_limit = 1 } (or http_endpoint = \"disabled\")."),
    equivalents={"checkov": ("CKV_AWS_79",)},
)
def ec2_imdsv1(r: TfResource, ctx: object) -> Iterator[Hit]:
    """IMDSv1 answers plain GET requests, so a server-side request forgery in any app on the instance
    hands out the instance role's temporary credentials (the Capital One breach).

    ``http_tokens`` defaults to ``optional`` (v1 allowed) unless the AMI says otherwise, which
    Terraform cannot see: a missing setting fails, as in Checkov.
    """
    opts = r.blocks("metadata_options")
    cfg = opts[0] if opts else {}
    if cfg.get("http_endpoint") == "disabled":
        return
    tokens = cfg.get("http_tokens")
    if tokens == "required" or (isinstance(tokens, str) and "${" in tokens):
        return
    why = f"sets http_tokens = {tokens!r}" if tokens is not None else "does not require IMDSv2 tokens"
    yield Hit(f"{r.address} {why}", line=r.line_of("metadata_options"), location="metadata_options.http_tokens",
              fix=('metadata_options {\n  http_tokens                 = "required"\n'
                   "  http_put_response_hop_limit = 1\n}"))
