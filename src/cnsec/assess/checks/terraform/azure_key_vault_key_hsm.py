from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, one_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-227",
    title="Key Vault key is not backed by an HSM",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_key_vault_key",),
    threats=("secret-access", "weak-cryptography"),
    control="CTRL-STRONG-CRYPTO",
    remediation='Set key_type = "RSA-HSM" or "EC-HSM" (needs a Premium vault or a managed HSM).',
    equivalents={"checkov": ("CKV_AZURE_112",)},
)
def azure_key_vault_key_hsm(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A software-protected key is processed in software outside a FIPS 140 Level 3 boundary; an HSM key
    never leaves the hardware module.
    """
    yield from expect(r, "key_type", good=one_of("RSA-HSM", "EC-HSM"), default=None,
                      want="the key is software-protected", fix='key_type = "RSA-HSM"')
