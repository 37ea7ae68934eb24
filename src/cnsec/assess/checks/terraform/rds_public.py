from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-007",
    title="RDS database publicly accessible",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster_instance"),
    threats=("exposed-interface", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set publicly_accessible = false and reach the database from inside the VPC (bastion, SSM, VPN).",
    equivalents={"checkov": ("CKV_AWS_17",)},
)
def rds_public(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A publicly accessible database gets a public DNS name and IP: only its password and security
    group stand between it and every scanner on the internet."""
    if truth(r.get("publicly_accessible")) is True:
        yield Hit(f"{r.address} sets publicly_accessible = true", line=r.line_of("publicly_accessible"),
                  location="publicly_accessible", fix="publicly_accessible = false")
