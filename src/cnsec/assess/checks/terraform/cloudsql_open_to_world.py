from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import open_cidr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-029",
    title="Cloud SQL instance open to the world",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("exposed-interface", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Remove 0.0.0.0/0 from authorized_networks; use private IP (ipv4_enabled = false with "
                 "private_network) or the Cloud SQL Auth Proxy."),
    equivalents={"checkov": ("CKV_GCP_11",)},
)
def cloudsql_open_to_world(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An authorized network of 0.0.0.0/0 on a public IP puts the database login in front of every
    scanner on the internet."""
    settings = r.blocks("settings")
    ip = settings[0].get("ip_configuration") if settings else None
    ip_cfg = ip[0] if isinstance(ip, list) and ip and isinstance(ip[0], dict) else ip
    if not isinstance(ip_cfg, dict):
        return
    nets = ip_cfg.get("authorized_networks")
    items = nets if isinstance(nets, list) else [nets]
    for net in items:
        value = net.get("value") if isinstance(net, dict) else None
        if open_cidr(value) or (isinstance(value, str) and value.strip().endswith("/0")):
            yield Hit(f"{r.address} authorizes {value} to connect", line=r.line_of("settings"),
                      location="settings.ip_configuration.authorized_networks",
                      fix='authorized_networks {\n  name  = "office"\n  value = "203.0.113.0/24"\n}')
            return
