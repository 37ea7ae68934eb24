from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, not_one_of, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-208",
    title="AKS cluster has no automatic upgrade channel",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("container-escape", "cluster-takeover"),
    control="CTRL-PATCHING",
    remediation='Set automatic_upgrade_channel = "patch" (automatic_channel_upgrade in azurerm < 4).',
    equivalents={"checkov": ("CKV_AZURE_171",)},
)
def azure_aks_upgrade_channel(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Kubernetes patch releases fix container-escape and API-server vulnerabilities; a cluster without
    an upgrade channel stays on the version it was created with until someone remembers.
    """
    old = "automatic_channel_upgrade"  # azurerm < 4
    attr = old if setting(r, old)[0] != "absent" else "automatic_upgrade_channel"
    yield from expect(r, attr, good=not_one_of("none"), default="none",
                      want="Kubernetes patches are not applied automatically",
                      fix='automatic_upgrade_channel = "patch"')
