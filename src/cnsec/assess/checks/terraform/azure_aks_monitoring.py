from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-212",
    title="AKS cluster sends no logs to Azure Monitor",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation="Add an oms_agent { log_analytics_workspace_id = … } block (Container Insights).",
    equivalents={"checkov": ("CKV_AZURE_4",)},
)
def azure_aks_monitoring(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without Container Insights the cluster's container logs and events are nowhere central: an
    intrusion leaves only node-local logs that go with the node.
    """
    new = setting(r, "oms_agent")
    if new[0] != "absent":
        return
    old_state, enabled = setting(r, "addon_profile", "oms_agent", "enabled")  # azurerm < 3
    if old_state == "unknown" or (old_state == "set" and enabled in (True, "true")):
        return
    yield Hit(f"{r.address} has no oms_agent (Container Insights) block", line=r.line, location="oms_agent",
              fix="oms_agent {\n  log_analytics_workspace_id = azurerm_log_analytics_workspace.aks.id\n}")
