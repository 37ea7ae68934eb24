from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-209",
    title="AKS cluster keeps its local admin account",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("credential-abuse", "cluster-takeover"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Set local_account_disabled = true and grant access through Entra ID "
                 "(azure_active_directory_role_based_access_control)."),
    equivalents={"checkov": ("CKV_AZURE_141",)},
)
def azure_aks_local_accounts(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The local clusterAdmin kubeconfig is a static, never-expiring cluster-admin credential outside
    Entra ID: no MFA, no conditional access, no per-person audit, and anyone with
    listClusterAdminCredential on the resource can download it.
    """
    yield from expect(r, "local_account_disabled", good=is_true, default=False,
                      want="a static cluster-admin kubeconfig exists", fix="local_account_disabled = true")
