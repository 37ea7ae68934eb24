from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import forbid_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-117",
    title="RDS automatic minor-version upgrades disabled",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("aws_db_instance", "aws_rds_cluster_instance"),
    threats=("sql-injection", "unauthenticated-access"),
    control="CTRL-PATCHING",
    remediation="Remove auto_minor_version_upgrade = false (the default is true).",
    equivalents={"checkov": ("CKV_AWS_226",)},
)
def aws_rds_minor_upgrades(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Minor versions carry the engine's security fixes; turned off, they wait for someone to remember.

    Unset is the provider's default, true, and passes (Checkov's CKV_AWS_226 fails it: judged wrong).
    """
    yield from forbid_false(r, ("auto_minor_version_upgrade",), "disables automatic minor-version upgrades",
                            "auto_minor_version_upgrade = true")
