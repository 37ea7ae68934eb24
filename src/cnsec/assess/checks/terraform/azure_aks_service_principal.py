from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-229",
    title="AKS cluster authenticates with a service principal secret instead of a managed identity",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("credential-abuse", "secret-access"),
    control="CTRL-SECRETS-MANAGEMENT",
    remediation='Replace the service_principal block with identity { type = "SystemAssigned" } (or UserAssigned).',
)
def azure_aks_service_principal(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A service principal's client secret sits in the Terraform state and on every node, expires
    (breaking the cluster) and, once leaked, works from anywhere; a managed identity has no secret.
    """
    state, _ = setting(r, "service_principal")
    if state != "set" or setting(r, "identity")[0] != "absent":
        return
    yield Hit(f"{r.address} uses a service_principal client secret", line=r.line_of("service_principal"),
              location="service_principal", fix='identity {\n  type = "SystemAssigned"\n}')
