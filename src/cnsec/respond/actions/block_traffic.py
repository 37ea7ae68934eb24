"""``block_traffic``: stop a source address from reaching the workloads, three ways.

* **networkpolicy** — NetworkPolicy can only *allow*, and policies selecting a pod are *unioned*. So a
  deny is written as one ingress policy per (namespace, selector) that allows ``0.0.0.0/0`` and ``::/0``
  *except* every blocked source. There is exactly one such policy (``cnsec-blocklist``) and each new source
  is merged into its ``except`` list: two separate "all except X" and "all except Y" policies would allow
  X through the second and Y through the first, blocking nothing. Because ``ipBlock`` is meant for
  cluster-external addresses (CNIs differ on pod IPs), the policy also allows ``namespaceSelector: {}`` (all
  pods) unless a blocked source lies in ``cluster_cidrs``. docs/response.md spells out every caveat.
* **nftables** — one element added to an interval set that a ``prerouting`` drop rule consults (the set,
  chain and rules are created once, only when the table is missing).
* **blocklist** — one line per source in a plain file other tools read (ingress deny lists, WAFs).
"""

from __future__ import annotations

import ipaddress
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

from cnsec.fsutil import atomic_write_text
from cnsec.model.event import Alert
from cnsec.respond.actions.base import (
    MANAGED_BY,
    Action,
    ActionContext,
    ActionFailed,
    ApplyResult,
    Change,
    Network,
    Param,
    Skip,
    as_network,
    managed_by_cnsec,
    networks_in_text,
    parse_network,
    slug,
    to_yaml,
    walk_fields,
)
from cnsec.respond.kube import KubeError

SOURCE_FIELDS = ["src_ip", "source_ip", "sourceIPAddress", "sourceIPs", "client_ip", "clientIP",
                 "remote_addr", "remote_ip", "x_forwarded_for"]


def _sort_key(net: Network) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)


def _host_text(net: Network) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def block_policy(namespace: str, name: str, selector: dict[str, str], cidrs: list[str],
                 allow_in_cluster: bool) -> dict[str, Any]:
    """The whole NetworkPolicy for a set of blocked sources (sorted: same input, same bytes)."""
    nets = sorted({ipaddress.ip_network(c, strict=False) for c in cidrs}, key=_sort_key)
    v4 = [str(n) for n in nets if n.version == 4]
    v6 = [str(n) for n in nets if n.version == 6]
    block4: dict[str, Any] = {"cidr": "0.0.0.0/0"}
    if v4:
        block4["except"] = v4
    block6: dict[str, Any] = {"cidr": "::/0"}
    if v6:
        block6["except"] = v6
    peers: list[dict[str, Any]] = [{"ipBlock": block4}, {"ipBlock": block6}]
    if allow_in_cluster:
        peers.append({"namespaceSelector": {}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(MANAGED_BY),
            "annotations": {"cnsec.io/purpose": "deny ingress from the sources in the except lists"},
        },
        "spec": {
            "podSelector": {"matchLabels": dict(selector)} if selector else {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers}],
        },
    }


def blocked_in_policy(policy: dict[str, Any]) -> set[str]:
    """The sources a cnsec blocklist policy currently denies (its except lists)."""
    found: set[str] = set()
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        for peer in rule.get("from") or []:
            block = peer.get("ipBlock") or {}
            for cidr in block.get("except") or []:
                found.add(str(ipaddress.ip_network(cidr, strict=False)))
    return found


class BlockTraffic(Action):
    id = "block_traffic"
    description = "deny a source address: NetworkPolicy except-list, nftables set element, blocklist file"
    params = {
        "via": Param("str-list", ["networkpolicy", "nftables", "blocklist"], "mechanisms to use",
                     choices=("networkpolicy", "nftables", "blocklist")),
        "namespace": Param("str", "default", "namespace of the protected pods"),
        "pod_selector": Param("str-map", {}, "labels of the protected pods ({} = every pod)"),
        "policy_name": Param("str", "cnsec-blocklist", "name of the one blocklist NetworkPolicy"),
        "sources": Param("str", "auto", "where source addresses come from",
                         choices=("auto", "key", "evidence")),
        "source_fields": Param("str-list", SOURCE_FIELDS, "evidence fields holding source addresses"),
        "max_sources": Param("int", 100, "most sources blocked for one alert (most frequent first)"),
        "allow_in_cluster": Param("bool", True, "keep allowing all pods (namespaceSelector: {})"),
        "max_policy_sources": Param("int", 5000, "most sources one NetworkPolicy holds (then: nftables)"),
        "cluster_cidrs": Param("str-list", [], "pod/node CIDRs: sources inside them are in-cluster"),
        "nft_family": Param("str", "inet", "nftables family", choices=("inet", "ip", "ip6")),
        "nft_table": Param("str", "cnsec", "nftables table"),
        "nft_set": Param("str", "blocklist", "set name prefix (<name>_v4, <name>_v6)"),
        "blocklist_file": Param("str", "cnsec-blocklist.txt", "file with one blocked source per line"),
    }

    def validate(self, given: Any) -> dict[str, Any]:
        params = super().validate(given)
        for cidr in params["cluster_cidrs"]:
            if as_network(cidr) is None:
                raise ValueError(f"block_traffic: cluster_cidrs: {cidr!r} is not a CIDR")
        for name in ("nft_table", "nft_set", "policy_name"):
            if not params[name].replace("-", "_").replace("_", "a").isalnum():
                raise ValueError(f"block_traffic: {name} {params[name]!r} must be letters, digits, - or _")
        if params["max_sources"] < 1:
            raise ValueError("block_traffic: max_sources must be at least 1")
        return params

    # -- planning ------------------------------------------------------------------------------------
    def sources(self, alert: Alert, params: dict[str, Any]) -> list[Network]:
        mode = params["sources"]
        if mode in ("auto", "key"):
            from_key = networks_in_text(alert.key)
            if from_key or mode == "key":
                return from_key[: params["max_sources"]]
        counts: Counter[Network] = Counter()
        for value in walk_fields(alert.evidence, set(params["source_fields"])):
            if isinstance(value, str):
                for part in value.split(","):  # X-Forwarded-For lists
                    net = as_network(part)
                    if net is not None:
                        counts[net] += 1
        ranked = sorted(counts, key=lambda n: (-counts[n], _sort_key(n)))
        return ranked[: params["max_sources"]]

    def plan(self, alert: Alert, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        sources = self.sources(alert, params)
        if not sources:
            raise Skip(f"no source address in the alert key {alert.key!r}"
                       + (" or its evidence" if params["sources"] != "key" else ""))
        changes: list[Change] = []
        for net in sources:
            changes.extend(self._plan_one(net, params, ctx))
        return changes

    def _plan_one(self, net: Network, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        cidr = str(net)
        changes: list[Change] = []
        ns, name = params["namespace"], params["policy_name"]
        guard = ctx.guard
        if "networkpolicy" in params["via"]:
            change = Change(
                action=self.id, kind="networkpolicy", target=f"networkpolicy {ns}/{name}", subject=cidr,
                description=f"deny ingress from {cidr} to pods {params['pod_selector'] or '(all)'} in {ns}",
                artifact="", artifact_name=f"networkpolicy-{slug(ns)}-{slug(name)}.yaml",
                data={"namespace": ns, "name": name, "selector": params["pod_selector"], "cidr": cidr,
                      "allow_in_cluster": params["allow_in_cluster"],
                      "cluster_cidrs": params["cluster_cidrs"], "max": params["max_policy_sources"]},
                names=(f"{ns}/{name}",), cidrs=(cidr,))
            change.artifact = (f"# networkpolicy {ns}/{name}: {cidr} joins the ingress ipBlock except-list "
                               f"(whole policy: {change.artifact_name})\n")
            refused = guard(change) if guard else None
            blocked = ctx.state.setdefault(("networkpolicy", ns, name), set())
            if refused is None and cidr not in blocked and len(blocked) >= params["max_policy_sources"]:
                change.skip_reason = (f"networkpolicy {ns}/{name} is full ({len(blocked)} sources, "
                                      "max_policy_sources); block the rest with nftables or the blocklist")
            elif refused is None:  # only allowed sources join the cumulative except-list
                blocked.add(cidr)
                data = change.data
                change.final = lambda: to_yaml(self._manifest(sorted(blocked), data))
            changes.append(change)
        if "nftables" in params["via"]:
            changes.append(self._nft_change(net, params, ctx))
        if "blocklist" in params["via"]:
            path = params["blocklist_file"]
            changes.append(Change(
                action=self.id, kind="blocklist", target=f"file {path}", subject=cidr,
                description=f"add {_host_text(net)} to the blocklist file {path}",
                artifact=_host_text(net) + "\n", artifact_name="blocklist.txt", artifact_mode="append",
                data={"path": path, "line": _host_text(net)}, cidrs=(cidr,)))
        return changes

    def _manifest(self, cidrs: list[str], data: dict[str, Any]) -> dict[str, Any]:
        in_cluster = [parse_network(c) for c in data["cluster_cidrs"]]
        has_in_cluster_source = bool(in_cluster) and any(
            net.version == n.version and net.subnet_of(n)  # type: ignore[arg-type]
            for net in (parse_network(c) for c in cidrs) for n in in_cluster)
        allow = bool(data["allow_in_cluster"]) and not has_in_cluster_source
        return block_policy(data["namespace"], data["name"], data["selector"], cidrs, allow)

    def _nft(self, params: dict[str, Any], net: Network) -> tuple[list[str], list[str], str]:
        family, table = params["nft_family"], params["nft_table"]
        set_name = f"{params['nft_set']}_v{net.version}"
        element = "{ " + _host_text(net) + " }"
        add = ["nft", "add", "element", family, table, set_name, element]
        get = ["nft", "get", "element", family, table, set_name, element]
        return add, get, set_name

    def _nft_setup(self, params: dict[str, Any]) -> list[list[str]]:
        family, table, prefix = params["nft_family"], params["nft_table"], params["nft_set"]
        cmds = [["nft", "add", "table", family, table]]
        versions = {"inet": (4, 6), "ip": (4,), "ip6": (6,)}[family]
        for v in versions:
            kind = "ipv4_addr" if v == 4 else "ipv6_addr"
            cmds.append(["nft", "add", "set", family, table, f"{prefix}_v{v}",
                         f"{{ type {kind}; flags interval; auto-merge; }}"])
        cmds.append(["nft", "add", "chain", family, table, "prerouting",
                     "{ type filter hook prerouting priority -150; policy accept; }"])
        for v in versions:
            match = "ip" if v == 4 else "ip6"
            cmds.append(["nft", "add", "rule", family, table, "prerouting", match, "saddr",
                         f"@{prefix}_v{v}", "drop"])
        return cmds

    def _nft_change(self, net: Network, params: dict[str, Any], ctx: ActionContext) -> Change:
        add, get, set_name = self._nft(params, net)
        family, table = params["nft_family"], params["nft_table"]
        if (family, net.version) in (("ip", 6), ("ip6", 4)):
            return Change(action=self.id, kind="nftables", target=f"nft {family} {table}", subject=str(net),
                          description=f"nft family {family} cannot hold {net}", artifact="",
                          artifact_name="nftables.sh", skip_reason=f"nft family {family} cannot hold {net}")
        setup = self._nft_setup(params)
        lines = []
        shown = ctx.state.setdefault("nft-setup-shown", set())
        if (family, table) not in shown:
            shown.add((family, table))
            lines += ["#!/bin/sh", "set -eu",
                      "# one-time setup, only when the table is missing (cnsec --apply does the same)",
                      f"if ! nft list table {family} {table} >/dev/null 2>&1; then"]
            lines += ["  " + shlex.join(cmd) for cmd in setup]
            lines.append("fi")
        lines.append(shlex.join(add))
        return Change(
            action=self.id, kind="nftables", target=f"nft {family} {table} {set_name}", subject=str(net),
            description=f"add {_host_text(net)} to nftables set {family} {table} {set_name}",
            artifact="\n".join(lines) + "\n", artifact_name="nftables.sh", artifact_mode="append",
            data={"add": add, "get": get, "setup": setup, "list": ["nft", "list", "table", family, table]},
            cidrs=(str(net),))

    # -- state and apply -----------------------------------------------------------------------------
    def in_effect(self, change: Change, ctx: ActionContext) -> bool:
        data = change.data
        if change.kind == "networkpolicy":
            current = ctx.kube().read_network_policy(data["namespace"], data["name"])
            return current is not None and data["cidr"] in blocked_in_policy(current)
        if change.kind == "nftables":
            return ctx.runner(data["get"], ctx.command_timeout).returncode == 0
        if change.kind == "blocklist":
            return data["line"] in _read_lines(Path(data["path"]))
        return False

    def apply(self, change: Change, ctx: ActionContext) -> ApplyResult:
        if change.kind == "networkpolicy":
            return self._apply_policy(change, ctx)
        if change.kind == "nftables":
            return self._apply_nft(change, ctx)
        if change.kind == "blocklist":
            return self._apply_file(change)
        raise ActionFailed(f"unknown change kind {change.kind}")

    def _apply_policy(self, change: Change, ctx: ActionContext, attempt: int = 0) -> ApplyResult:
        data = change.data
        kube = ctx.kube()
        ns, name = data["namespace"], data["name"]
        current = kube.read_network_policy(ns, name)
        sent = ctx.state.setdefault(("networkpolicy-sent", ns, name), {})
        change.final = lambda: to_yaml(sent["body"])
        if current is None:
            body = self._manifest([data["cidr"]], data)
            kube.create_network_policy(ns, body)
            sent["body"] = body
            return ApplyResult(True, f"created networkpolicy {ns}/{name}", change.artifact)
        if not managed_by_cnsec(current):
            raise ActionFailed(f"networkpolicy {ns}/{name} exists and is not managed by cnsec; "
                               "not touching it (choose another policy_name)")
        selector = ((current.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
        if selector != data["selector"]:
            raise ActionFailed(f"networkpolicy {ns}/{name} selects {selector or '(all)'}, this step "
                               f"selects {data['selector'] or '(all)'}; use a distinct policy_name")
        blocked = blocked_in_policy(current)
        if data["cidr"] in blocked:
            return ApplyResult(False, f"{data['cidr']} already denied by networkpolicy {ns}/{name}")
        if len(blocked) >= data["max"]:
            raise Skip(f"networkpolicy {ns}/{name} is full ({len(blocked)} sources, max_policy_sources); "
                       "block the rest with nftables or the blocklist")
        body = self._manifest(sorted(blocked | {data["cidr"]}), data)
        body["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        try:
            kube.replace_network_policy(ns, name, body)
        except KubeError as exc:
            if "409" in str(exc) and attempt < 2:  # someone else changed it: re-read and merge again
                return self._apply_policy(change, ctx, attempt + 1)
            raise
        del body["metadata"]["resourceVersion"]
        sent["body"] = body
        return ApplyResult(True, f"added {data['cidr']} to networkpolicy {ns}/{name}", change.artifact)

    def _apply_nft(self, change: Change, ctx: ActionContext) -> ApplyResult:
        data = change.data
        if ctx.runner(data["list"], ctx.command_timeout).returncode != 0:
            for cmd in data["setup"]:
                done = ctx.runner(cmd, ctx.command_timeout)
                if done.returncode != 0:
                    raise ActionFailed(f"{shlex.join(cmd)}: {done.stderr.strip()[:300]}")
        done = ctx.runner(data["add"], ctx.command_timeout)
        if done.returncode != 0:
            raise ActionFailed(f"{shlex.join(data['add'])}: {done.stderr.strip()[:300]}")
        return ApplyResult(True, f"ran {shlex.join(data['add'])}")

    def _apply_file(self, change: Change) -> ApplyResult:
        path = Path(change.data["path"])
        line = change.data["line"]
        try:
            existing = path.read_text(encoding="utf-8") if path.exists() else ""
        except OSError as exc:
            raise ActionFailed(f"cannot read {path}: {exc.strerror}") from None
        if line in _lines(existing):
            return ApplyResult(False, f"{line} already in {path}")
        if existing and not existing.endswith("\n"):
            existing += "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, existing + line + "\n")
        except OSError as exc:
            raise ActionFailed(f"cannot write {path}: {exc.strerror}") from None
        return ApplyResult(True, f"added {line} to {path}")


def _lines(text: str) -> set[str]:
    return {ln.split("#", 1)[0].strip() for ln in text.splitlines()} - {""}


def _read_lines(path: Path) -> set[str]:
    try:
        return _lines(path.read_text(encoding="utf-8"))
    except OSError:
        return set()


ACTION = BlockTraffic()
