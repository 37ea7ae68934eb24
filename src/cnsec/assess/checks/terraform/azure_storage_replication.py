from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-217",
    title="Azure storage account keeps its data in one region",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("data-tampering", "denial-of-service"),
    control="CTRL-CLOUD-RESILIENCE",
    remediation='Set account_replication_type = "GZRS" (or "GRS", "RAGRS", "RAGZRS").',
    equivalents={"checkov": ("CKV_AZURE_206",)},
)
def azure_storage_replication(r: TfResource, ctx: object) -> Iterator[Hit]:
    """LRS and ZRS keep every copy in one region: a regional outage or disaster loses access to (or the
    whole of) the data; geo-redundant replication keeps a copy in the paired region.
    """
    yield from expect(r, "account_replication_type", good=one_of("GRS", "RAGRS", "GZRS", "RAGZRS"), default=None,
                      want="no copy outside the region", fix='account_replication_type = "GZRS"')
