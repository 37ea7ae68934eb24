from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.checks.terraform._tf import open_cidr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-207",
    title="AKS public API server accepts every address",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("azurerm_kubernetes_cluster",),
    threats=("exposed-interface", "cluster-takeover"),
    control="CTRL-CONTROL-PLANE",
    remediation=("Set api_server_access_profile.authorized_ip_ranges to your admin and CI ranges, or make the "
                 "cluster private."),
    equivalents={"checkov": ("CKV_AZURE_6",)},
)
def azure_aks_authorized_ip_ranges(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A public API server without authorized ranges is reachable from the whole internet: one leaked
    kubeconfig or token, or one API-server flaw, is enough. A private cluster passes.
    """
    private, value = setting(r, "private_cluster_enabled")
    if private == "unknown" or (private == "set" and value in (True, "true")):
        return
    for path in (("api_server_access_profile", "authorized_ip_ranges"), ("api_server_authorized_ip_ranges",)):
        state, ranges = setting(r, *path)
        if state == "unknown":
            return
        if state == "set":
            if open_cidr(ranges):
                yield Hit(f"{r.address} authorizes the whole internet ({ranges!r}) on its API server",
                          line=r.line_of(path[0]), location=".".join(path),
                          fix='api_server_access_profile {\n  authorized_ip_ranges = ["203.0.113.0/24"]\n}')
            return
    yield Hit(f"{r.address} has a public API server open to every address (no authorized_ip_ranges)",
              line=r.line, location="api_server_access_profile.authorized_ip_ranges",
              fix='api_server_access_profile {\n  authorized_ip_ranges = ["203.0.113.0/24"]\n}')
