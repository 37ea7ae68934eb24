from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-105",
    title="Instance metadata reachable from containers (hop limit above 1)",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_launch_template", "aws_launch_configuration", "aws_instance"),
    threats=("credential-abuse", "privilege-escalation"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Set metadata_options { http_put_response_hop_limit = 1 } so only the node itself gets "
                 "IMDSv2 tokens; give pods their own roles (IRSA / EKS Pod Identity)."),
    equivalents={"checkov": ("CKV_AWS_341",)},
)
def aws_launch_template_hop_limit(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With a hop limit of 2 or more the IMDSv2 token reply survives the extra hop into a container's
    network namespace: every pod on the node can take the node's instance role, whatever its own
    permissions are."""
    value = setting(r, "metadata_options", "http_put_response_hop_limit")
    hops = to_int(value) if value is not UNKNOWN else None
    if hops is None or hops <= 1:
        return
    yield Hit(f"{r.address} sets http_put_response_hop_limit = {hops}", line=r.line_of("metadata_options"),
              location="metadata_options.http_put_response_hop_limit",
              fix="metadata_options {\n  http_tokens                 = \"required\"\n"
                  "  http_put_response_hop_limit = 1\n}")
