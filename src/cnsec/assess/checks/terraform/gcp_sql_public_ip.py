from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_false, known, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-324",
    title="Cloud SQL instance has a public IP address",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("exposed-interface", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Set settings { ip_configuration { ipv4_enabled = false, private_network = <VPC> } } and connect "
                 "through private IP or the Cloud SQL Auth Proxy."),
    equivalents={"checkov": ("CKV_GCP_60",)},
)
def gcp_sql_public_ip(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A public IP puts the database's login in reach of the internet, one authorized network or
    connector mistake away from being open (Cloud SQL gives one unless ipv4_enabled = false).

    Unlike Checkov, an instance that does not say is reported: ipv4_enabled defaults to true.
    """
    ip = sub(first(r, "settings"), "ip_configuration")
    if ip is None and "ip_configuration" in r.unknown_blocks:
        return
    value = (ip or {}).get("ipv4_enabled")
    if is_false(value) or (value is not None and not known(value)):
        return
    said = "sets ipv4_enabled = true" if value is not None else "leaves ipv4_enabled at its default (true)"
    yield Hit(f"{r.address} {said}: the instance gets a public IP", line=r.line_of("settings"),
              location="settings.ip_configuration.ipv4_enabled",
              fix="ipv4_enabled    = false\nprivate_network = google_compute_network.vpc.id")
