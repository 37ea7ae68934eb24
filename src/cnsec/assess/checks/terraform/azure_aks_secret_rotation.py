from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-211",
    title="AKS Key Vault secrets provider does not rotate secrets",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("secret-access",),
    control="CTRL-KEY-ROTATION",
    remediation="Set key_vault_secrets_provider.secret_rotation_enabled = true.",
    equivalents={"checkov": ("CKV_AZURE_172",)},
)
def azure_aks_secret_rotation(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without rotation the CSI driver mounts a secret once: a secret rotated (or revoked) in Key Vault
    stays valid in the pods that mounted it.

    Only a cluster that runs the secrets provider is judged; Checkov also fails clusters without it,
    where there is nothing to rotate (judged in bench/cloud/review-azure.yaml).
    """
    if setting(r, "key_vault_secrets_provider")[0] != "set":
        return
    yield from expect(r, "key_vault_secrets_provider", "secret_rotation_enabled", good=is_true, default=False,
                      want="mounted secrets are never refreshed",
                      fix="key_vault_secrets_provider {\n  secret_rotation_enabled = true\n}")
