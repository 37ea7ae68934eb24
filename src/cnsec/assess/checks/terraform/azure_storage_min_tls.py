from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-021",
    title="Azure storage account allows TLS older than 1.2",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation="Set min_tls_version = \"TLS1_2\".",
    equivalents={"checkov": ("CKV_AZURE_44",)},
)
def azure_storage_min_tls(r: TfResource, ctx: object) -> Iterator[Hit]:
    """TLS 1.0 and 1.1 have known weaknesses and are deprecated; accepting them lets a downgrade expose
    the traffic.

    The azurerm provider defaults to TLS1_2 since 3.0; an explicit older value fails.
    """
    value = r.get("min_tls_version")
    if isinstance(value, str) and value in ("TLS1_0", "TLS1_1"):
        yield Hit(f"{r.address} sets min_tls_version = {value!r}", line=r.line_of("min_tls_version"),
                  location="min_tls_version", fix='min_tls_version = "TLS1_2"')
