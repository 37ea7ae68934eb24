from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-215",
    title="AKS cluster has Kubernetes RBAC disabled",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("privilege-escalation", "cluster-takeover"),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Set role_based_access_control_enabled = true (the default); RBAC cannot be turned on later without "
                 "recreating the cluster."),
    equivalents={"checkov": ("CKV_AZURE_5",)},
)
def azure_aks_rbac(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without RBAC every authenticated identity and service account is effectively cluster-admin."""
    old = ("role_based_access_control", "enabled")  # azurerm < 2.99
    path = old if setting(r, *old)[0] != "absent" else ("role_based_access_control_enabled",)
    yield from expect(r, *path, good=is_true, default=True, want="every identity is cluster-admin",
                      fix="role_based_access_control_enabled = true")
