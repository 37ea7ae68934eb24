from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import is_false, known
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-307",
    title="GCP project keeps the default network",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_project",),
    threats=("exposed-interface", "lateral-movement"),
    control="CTRL-PUBLIC-ACCESS",
    remediation="Set auto_create_network = false and create a custom VPC with only the firewall rules you need.",
    equivalents={"checkov": ("CKV_GCP_27",)},
)
def gcp_project_default_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The auto-created ``default`` network comes with firewall rules that allow SSH and RDP from
    anywhere and all traffic between every VM of the project."""
    value = r.get("auto_create_network")
    if is_false(value) or not known(value):
        return
    yield Hit(f"{r.address} creates the default network (auto_create_network is not false)",
              line=r.line_of("auto_create_network"), location="auto_create_network",
              fix="auto_create_network = false")
