from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import setting, unset
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-150",
    title="EKS node group open to SSH from anywhere",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_eks_node_group",),
    threats=("exposed-interface", "container-escape"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Drop remote_access (use SSM Session Manager), or set source_security_group_ids to a "
                 "bastion's group."),
    equivalents={"checkov": ("CKV_AWS_100",)},
)
def aws_eks_node_group_ssh(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With an SSH key and no source security groups EKS opens port 22 of every node to 0.0.0.0/0: a
    node is root over every pod on it."""
    if "remote_access" in r.unknown_blocks or unset(r, "remote_access", "ec2_ssh_key"):
        return
    if setting(r, "remote_access", "source_security_group_ids") is not None:
        return
    yield Hit(f"{r.address} allows SSH to its nodes from anywhere", line=r.line_of("remote_access"),
              location="remote_access.source_security_group_ids",
              fix="remote_access {\n  ec2_ssh_key               = var.key_name\n"
                  "  source_security_group_ids = [aws_security_group.bastion.id]\n}")
