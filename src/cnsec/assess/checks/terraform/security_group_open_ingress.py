from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, nth_block_line, open_cidr, to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Ports that must never face the internet: remote administration, databases, caches, cluster APIs.
SENSITIVE_PORTS = {
    22: "SSH", 23: "Telnet", 3389: "RDP", 5985: "WinRM", 5986: "WinRM", 3306: "MySQL", 5432: "PostgreSQL",
    1433: "SQL Server", 1521: "Oracle", 27017: "MongoDB", 6379: "Redis", 11211: "Memcached",
    9200: "Elasticsearch", 5601: "Kibana", 2375: "Docker API", 2376: "Docker API", 6443: "Kubernetes API",
    10250: "kubelet", 2379: "etcd", 5900: "VNC", 445: "SMB", 135: "MSRPC",
}


def exposed(from_port: Any, to_port: Any, protocol: Any) -> str | None:
    """What an open rule exposes: "all ports", a sensitive service name, or None."""
    proto = str(protocol).strip().lower() if protocol is not None else "tcp"
    lo, hi = to_int(from_port), to_int(to_port)
    if proto in ("-1", "all"):
        return "all ports and protocols"
    if lo is None or hi is None:
        return None
    if (lo <= 0 and hi >= 65535) or lo == -1:
        return "all ports"
    if proto not in ("tcp", "6", "udp", "17"):
        return None
    hits = [f"{SENSITIVE_PORTS[p]} ({p})" for p in sorted(SENSITIVE_PORTS) if lo <= p <= hi]
    if not hits:
        return None
    return ", ".join(hits[:4]) + (", …" if len(hits) > 4 else "")


def _rule_open(rule: dict[str, Any]) -> bool:
    return open_cidr(rule.get("cidr_blocks")) or open_cidr(rule.get("ipv6_cidr_blocks")) or open_cidr(
        rule.get("cidr_ipv4")) or open_cidr(rule.get("cidr_ipv6"))


@check(
    id="CNSEC-TF-009",
    title="Security group opens admin, database or all ports to the internet",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"),
    threats=("exposed-interface", "lateral-movement"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Restrict the source to known CIDRs or security groups; reach hosts through SSM Session "
                 "Manager, a bastion or a VPN instead of opening SSH/RDP/database ports to 0.0.0.0/0."),
    equivalents={"checkov": ("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277")},
)
def security_group_open_ingress(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Remote-administration and database ports open to 0.0.0.0/0 (or ::/0) are found by internet-wide
    scanners within minutes and brute-forced or exploited.

    Beyond Checkov's port 22 / 3389 / all-ports checks we also fail other sensitive services
    (databases, caches, Docker and Kubernetes APIs). Web ports (80/443) open to the world pass: that
    is what a public load balancer is for.
    """
    rules: list[tuple[dict[str, Any], str]] = []
    if r.type == "aws_security_group":
        rules = [(b, "ingress") for b in r.blocks("ingress")]
    elif r.type == "aws_security_group_rule":
        if r.get("type") == "ingress":
            rules = [(r.attrs, "cidr_blocks")]
    else:
        rules = [(r.attrs, "cidr_ipv4")]
    for n, (rule, attr) in enumerate(rules):
        if not _rule_open(rule):
            continue
        protocol = rule.get("protocol", rule.get("ip_protocol"))
        what = exposed(rule.get("from_port"), rule.get("to_port"), protocol)
        if what is None:
            continue
        cidrs = [c for c in as_list(rule.get("cidr_blocks")) + as_list(rule.get("ipv6_cidr_blocks"))
                 + as_list(rule.get("cidr_ipv4")) + as_list(rule.get("cidr_ipv6")) if open_cidr(c)]
        yield Hit(f"{r.address} allows {', '.join(map(str, cidrs))} to reach {what}",
                  line=nth_block_line(r, ctx, "ingress", n) if attr == "ingress" else r.line_of(attr),
                  location=f"ingress[{n}]",
                  fix='cidr_blocks = ["10.0.0.0/8"]  # or security_groups = [aws_security_group.bastion.id]')
