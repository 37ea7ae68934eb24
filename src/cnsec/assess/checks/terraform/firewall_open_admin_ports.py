from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, nth_block_line, open_cidr
from cnsec.assess.checks.terraform.security_group_open_ingress import exposed
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


def _ranges(ports: Any) -> list[tuple[str, str]]:
    """``["22", "80-90"]`` or ``"22-22"``/``"*"`` → [(from, to)]; an empty list means every port."""
    out: list[tuple[str, str]] = []
    for p in as_list(ports):
        text = str(p).strip()
        if text in ("*", ""):
            out.append(("0", "65535"))
            continue
        lo, _, hi = text.partition("-")
        out.append((lo, hi or lo))
    return out


#: GCP firewall protocols that carry ports (by name or IANA number); "all" includes them.
_PORTED = frozenset({"tcp", "udp", "sctp", "all", "6", "17", "132"})


def _gcp(r: TfResource) -> Iterator[tuple[str, int]]:
    if str(r.get("direction") or "INGRESS").upper() != "INGRESS" or not open_cidr(r.get("source_ranges")):
        return
    for n, allow in enumerate(r.blocks("allow")):
        proto = str(allow.get("protocol", "")).lower()
        if proto not in _PORTED:
            continue  # ICMP (ping), ESP, AH, …: no port, no service listening behind it
        ports = _ranges(allow.get("ports")) or [("0", "65535")]
        for lo, hi in ports:
            what = exposed(lo, hi, "-1" if proto == "all" else proto)
            if what:
                yield what, n
                break


def _azure_rule(rule: dict[str, Any]) -> str | None:
    if str(rule.get("access", "")).lower() != "allow" or str(rule.get("direction", "")).lower() != "inbound":
        return None
    sources = as_list(rule.get("source_address_prefix")) + as_list(rule.get("source_address_prefixes"))
    if not open_cidr(sources):
        return None
    proto = str(rule.get("protocol", "*")).lower()
    ports = _ranges(rule.get("destination_port_range")) + _ranges(rule.get("destination_port_ranges"))
    for lo, hi in ports:
        what = exposed(lo, hi, "-1" if proto == "*" else proto)
        if what:
            return what
    return None


@check(
    id="CNSEC-TF-023",
    title="GCP firewall or Azure NSG opens admin or all ports to the internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_compute_firewall", "azurerm_network_security_group", "azurerm_network_security_rule"),
    threats=("exposed-interface", "lateral-movement"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Allow SSH/RDP/database ports only from known ranges (IAP 35.235.240.0/20 on GCP, Azure "
                 "Bastion or a VPN); never from 0.0.0.0/0, * or Internet."),
    equivalents={"checkov": ("CKV_GCP_2", "CKV_GCP_3", "CKV_AZURE_9", "CKV_AZURE_10")},
)
def firewall_open_admin_ports(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The GCP and Azure counterpart of CNSEC-TF-009: remote administration, databases or every port
    reachable from anywhere. Like there, we also fail databases and all-port rules (Checkov's
    equivalents look at SSH and RDP only)."""
    if r.type == "google_compute_firewall":
        for what, n in _gcp(r):
            yield Hit(f"{r.address} allows 0.0.0.0/0 to reach {what}", line=nth_block_line(r, ctx, "allow", n),
                      location=f"allow[{n}]", fix='source_ranges = ["35.235.240.0/20"]  # IAP only')
        return
    rules = [r.attrs] if r.type == "azurerm_network_security_rule" else r.blocks("security_rule")
    for n, rule in enumerate(rules):
        exposure = _azure_rule(rule)
        if exposure:
            line = r.line_of("source_address_prefix") if r.type == "azurerm_network_security_rule" else (
                nth_block_line(r, ctx, "security_rule", n))
            yield Hit(f"{r.address} rule {rule.get('name', n)!r} allows the internet to reach {exposure}",
                      line=line, location=f"security_rule[{n}]",
                      fix='source_address_prefix = "10.0.0.0/8"  # or the AzureBastionSubnet range')
