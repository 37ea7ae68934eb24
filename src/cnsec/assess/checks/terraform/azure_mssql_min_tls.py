from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-233",
    title="Azure SQL server accepts TLS older than 1.2",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_mssql_server",),
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation='Set minimum_tls_version = "1.2" (the provider default).',
    equivalents={"checkov": ("CKV_AZURE_52",)},
)
def azure_mssql_min_tls(r: TfResource, ctx: object) -> Iterator[Hit]:
    """TLS 1.0 and 1.1 have known weaknesses; a server that accepts them lets a downgrade expose queries
    and credentials. The azurerm provider's default is "1.2", so only an explicit older value (or
    "Disabled") fails; Checkov also fails an absent one.
    """
    yield from expect(r, "minimum_tls_version", good=one_of("1.2", "1.3"), default="1.2",
                      want="older TLS versions are accepted", fix='minimum_tls_version = "1.2"')
