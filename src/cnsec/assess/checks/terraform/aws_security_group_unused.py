from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import linked
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-158",
    title="Security group not used by anything here",
    severity=Severity.INFO,
    target="terraform",
    resource_types=("aws_security_group",),
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation="Attach the group where it is meant to apply, or delete it.",
    equivalents={"checkov": ("CKV2_AWS_5",)},
)
def aws_security_group_unused(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An unused group is an opening waiting for someone to pick it off the list because its name
    fits, with rules nobody has reviewed since it was made.

    Any other resource of the same module instance naming the group (an instance, a load balancer,
    a rule, an endpoint, a cluster) counts as use; a module that only outputs its group is reported
    (its caller attaches it: judge it there).
    """
    if linked(ctx, r, ()):
        return
    yield Hit(f"{r.address} is attached to nothing in this configuration", line=r.line, location="attachment",
              fix=f"vpc_security_group_ids = [aws_security_group.{r.name}.id]  # on the instance/endpoint it guards")
