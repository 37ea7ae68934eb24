from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_false
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-257",
    title="Managed disk can be exported over public networks",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_managed_disk",),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=('Set public_network_access_enabled = false (with network_access_policy = "DenyAll" or '
                 '"AllowPrivate" and a disk access resource).'),
    equivalents={"checkov": ("CKV_AZURE_251",)},
)
def azure_disk_public_network(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A disk export SAS is a download link to the whole disk: with public network access on, whoever
    obtains it can copy the disk from anywhere.
    """
    yield from expect(r, "public_network_access_enabled", good=is_false, default=True,
                      want="disk export is open to public networks", fix="public_network_access_enabled = false")
