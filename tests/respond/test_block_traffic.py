from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml

from cnsec.respond.actions.block_traffic import block_policy
from cnsec.respond.kube import RecordingKubeApi
from tests.respond.conftest import FakeNft, PlaybookFactory, Runner, loaded, make_alert, validate_k8s

PLAYBOOK = """
rules:
  - name: block
    match: {threats: [denial-of-service]}
    do:
      - block_traffic:
          namespace: shop
          pod_selector: {app: web}
          via: [networkpolicy, nftables, blocklist]
          blocklist_file: {blocklist}
"""


def _pb(playbook: PlaybookFactory, tmp_path: Path, extra: str = "") -> object:
    return playbook(PLAYBOOK.replace("{blocklist}", str(tmp_path / "blocklist.txt")) + extra)


def _policy(kube: RecordingKubeApi) -> dict:
    return kube.objects[("NetworkPolicy", "shop", "cnsec-blocklist")]


def _excepts(policy: dict) -> list[str]:
    peers = policy["spec"]["ingress"][0]["from"]
    return [c for p in peers if "ipBlock" in p for c in p["ipBlock"].get("except", [])]


def test_the_blocklist_policy_passes_the_kubernetes_schema() -> None:
    validate_k8s(block_policy("shop", "cnsec-blocklist", {"app": "web"},
                              ["203.0.113.7/32", "2001:db8::5/128"], True))


def test_the_policy_allows_everything_except_the_blocked_sources() -> None:
    policy = block_policy("shop", "cnsec-blocklist", {"app": "web"},
                          ["203.0.113.7/32", "2001:db8::/64"], False)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "web"}}
    blocks = [p["ipBlock"] for p in policy["spec"]["ingress"][0]["from"]]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": ["203.0.113.7/32"]},
                      {"cidr": "::/0", "except": ["2001:db8::/64"]}]
    for block in blocks:  # the API server rejects an except outside its cidr
        outer = ipaddress.ip_network(block["cidr"])
        assert all(ipaddress.ip_network(e).subnet_of(outer) for e in block["except"])  # type: ignore[arg-type]


def test_dry_run_shows_one_policy_with_every_source_of_the_run(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("203.0.113.7"), make_alert("198.51.100.9")))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert _excepts(manifest) == ["198.51.100.9/32", "203.0.113.7/32"]
    assert kube.calls == [] and not (tmp_path / "blocklist.txt").exists()


def test_dry_run_prints_the_exact_nft_command(playbook: PlaybookFactory, respond: Runner, nft: FakeNft,
                                              tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("203.0.113.7")))
    assert "nft add element inet cnsec blocklist_v4 '{ 203.0.113.7 }'\n" in result.artifacts["nftables.sh"]
    assert nft.calls == []


def test_apply_creates_the_policy_the_set_element_and_the_file_line(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi, nft: FakeNft,
        tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("203.0.113.7")), apply=True)
    assert result.counts()["applied"] == 3
    assert _excepts(_policy(kube)) == ["203.0.113.7/32"]
    assert ("blocklist_v4", "{ 203.0.113.7 }") in nft.elements
    assert (tmp_path / "blocklist.txt").read_text() == "203.0.113.7\n"


def test_applying_twice_changes_nothing(playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi,
                                        nft: FakeNft, tmp_path: Path) -> None:
    pb = _pb(playbook, tmp_path)
    respond(pb, loaded(make_alert("203.0.113.7")), apply=True)
    writes, nft_adds = len(kube.writes()), sum(c[1] == "add" for c in nft.calls)
    again = respond(pb, loaded(make_alert("203.0.113.7")), apply=True)
    assert again.counts() == {"unchanged": 3}
    assert len(kube.writes()) == writes
    assert sum(c[1] == "add" for c in nft.calls) == nft_adds
    assert (tmp_path / "blocklist.txt").read_text() == "203.0.113.7\n"


def test_a_new_source_is_merged_into_the_existing_policy(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi, tmp_path: Path) -> None:
    pb = _pb(playbook, tmp_path)
    respond(pb, loaded(make_alert("203.0.113.7")), apply=True)
    respond(pb, loaded(make_alert("198.51.100.9")), apply=True)
    assert _excepts(_policy(kube)) == ["198.51.100.9/32", "203.0.113.7/32"]
    assert [c for c in kube.writes() if c[1] == "NetworkPolicy"] == [
        ("create", "NetworkPolicy", "shop", "cnsec-blocklist"),
        ("replace", "NetworkPolicy", "shop", "cnsec-blocklist")]


def test_a_policy_not_managed_by_cnsec_is_not_touched(playbook: PlaybookFactory, respond: Runner,
                                                     kube: RecordingKubeApi, tmp_path: Path) -> None:
    foreign = block_policy("shop", "cnsec-blocklist", {"app": "web"}, ["192.0.2.1/32"], True)
    foreign["metadata"]["labels"] = {"team": "net"}
    kube.objects[("NetworkPolicy", "shop", "cnsec-blocklist")] = foreign
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("203.0.113.7")), apply=True)
    [failed] = [d for d in result.decisions if d.outcome == "failed"]
    assert "not managed by cnsec" in failed.reason
    assert result.failed
    assert [w for w in kube.writes() if w[1] == "NetworkPolicy"] == []  # "not touched": nothing written


def test_the_nft_table_set_and_rules_are_created_only_when_missing(
        playbook: PlaybookFactory, respond: Runner, nft: FakeNft, tmp_path: Path) -> None:
    pb = _pb(playbook, tmp_path)
    respond(pb, loaded(make_alert("203.0.113.7"), make_alert("198.51.100.9")), apply=True)
    assert sum(c[1:3] == ["add", "table"] for c in nft.calls) == 1
    assert sum(c[1:3] == ["add", "rule"] for c in nft.calls) == 2  # one per address family


def test_a_failing_nft_command_is_a_failed_decision(playbook: PlaybookFactory, respond: Runner,
                                                    tmp_path: Path) -> None:
    from cnsec.respond.actions.base import ActionContext, CommandResult
    from cnsec.respond.audit import AuditTrail
    from cnsec.respond.engine import Responder

    def no_nft(argv: list[str], timeout: float) -> CommandResult:
        return CommandResult(127, "", "nft: command not found")

    ctx = ActionContext(apply=True, kube_factory=RecordingKubeApi, runner=no_nft, env={})
    result = Responder(_pb(playbook, tmp_path), ctx, AuditTrail(tmp_path / "a.jsonl")).run(
        loaded(make_alert("203.0.113.7")))
    [failed] = [d for d in result.decisions if d.outcome == "failed"]
    assert failed.change is not None and failed.change.kind == "nftables"
    assert "command not found" in failed.reason


def test_sources_come_from_the_evidence_when_the_key_is_not_an_address(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    evidence = [{"data": {"src_ip": "198.51.100.1"}}, {"src_ip": "198.51.100.1"},
                {"remote_addr": "192.0.2.44"}, {"x_forwarded_for": "2001:db8::5, 10.0.0.1"}]
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("svc=shop/web", evidence=evidence)))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert _excepts(manifest) == ["10.0.0.1/32", "192.0.2.44/32", "198.51.100.1/32", "2001:db8::5/128"]


def test_an_alert_without_any_address_is_skipped_with_the_reason(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("svc=shop/web")))
    [decision] = result.decisions
    assert decision.outcome == "skipped" and "no source address" in decision.reason


def test_the_api_server_and_cluster_dns_are_never_blocked(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("10.96.0.1"), make_alert("10.96.0.10"),
                                                     make_alert("127.0.0.1")), apply=True)
    assert {d.outcome for d in result.decisions} == {"skipped"}
    assert all("allow-listed" in d.reason for d in result.decisions)
    assert kube.writes() == []


def test_discovered_service_ips_join_the_allow_list(playbook: PlaybookFactory, respond: Runner,
                                                    kube: RecordingKubeApi, tmp_path: Path) -> None:
    kube.objects[("Service", "kube-system", "kube-dns")] = {
        "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"]}}
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("10.43.0.10")), apply=True)
    assert {d.outcome for d in result.decisions} == {"skipped"}


def test_configured_cidrs_are_protected(playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    pb = _pb(playbook, tmp_path, "allow_list: {cidrs: [192.0.2.0/24]}\n")
    result = respond(pb, loaded(make_alert("192.0.2.77")))
    assert {d.outcome for d in result.decisions} == {"skipped"}


def test_an_allow_listed_source_stays_out_of_the_cumulative_policy(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    evidence = [{"src_ip": "203.0.113.7"}, {"src_ip": "10.96.0.1"}]
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("svc=web", evidence=evidence)))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert _excepts(manifest) == ["203.0.113.7/32"]


def test_an_in_cluster_source_removes_the_all_pods_peer(playbook: PlaybookFactory, respond: Runner,
                                                        tmp_path: Path) -> None:
    pb = playbook(PLAYBOOK.replace("{blocklist}", str(tmp_path / "b.txt")).replace(
        "via: [networkpolicy, nftables, blocklist]",
        "via: [networkpolicy]\n          cluster_cidrs: [10.244.0.0/16]"))
    result = respond(pb, loaded(make_alert("10.244.3.9")))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert {"namespaceSelector": {}} not in manifest["spec"]["ingress"][0]["from"]


def test_an_external_source_keeps_in_cluster_traffic_allowed(playbook: PlaybookFactory, respond: Runner,
                                                             tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("203.0.113.7")))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert {"namespaceSelector": {}} in manifest["spec"]["ingress"][0]["from"]


def test_detect_style_keys_are_understood(playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("ip=203.0.113.7")))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert _excepts(manifest) == ["203.0.113.7/32"]


def test_a_principal_arn_is_not_mistaken_for_an_address() -> None:
    from cnsec.respond.actions.base import networks_in_text

    assert networks_in_text("principal=arn:aws:iam::123456789012:user/bob") == []
    assert networks_in_text("::") == []


def test_a_full_policy_refuses_more_sources_and_says_where_to_block_them(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    pb = playbook(PLAYBOOK.replace("{blocklist}", str(tmp_path / "b.txt")).replace(
        "via: [networkpolicy, nftables, blocklist]", "via: [networkpolicy, nftables]\n          max_policy_sources: 2"))
    result = respond(pb, loaded(*(make_alert(f"203.0.113.{i}") for i in range(1, 4))))
    [full] = [d for d in result.decisions if d.outcome == "skipped"]
    assert full.change is not None and full.change.subject == "203.0.113.3/32" and "is full" in full.reason
    assert result.artifacts["nftables.sh"].count("nft add element") == 3


def test_a_full_policy_in_the_cluster_is_not_grown(playbook: PlaybookFactory, respond: Runner,
                                                   kube: RecordingKubeApi, tmp_path: Path) -> None:
    pb = playbook(PLAYBOOK.replace("{blocklist}", str(tmp_path / "b.txt")).replace(
        "via: [networkpolicy, nftables, blocklist]", "via: [networkpolicy]\n          max_policy_sources: 1"))
    respond(pb, loaded(make_alert("203.0.113.1")), apply=True)
    result = respond(pb, loaded(make_alert("203.0.113.2")), apply=True)
    assert result.decisions[0].outcome == "skipped" and "is full" in result.decisions[0].reason
    assert _excepts(_policy(kube)) == ["203.0.113.1/32"]


def test_an_ipv4_mapped_ipv6_address_of_the_api_server_is_never_blocked(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("::ffff:10.96.0.1"),
                                                     make_alert("src_ip=[::ffff:127.0.0.1]")), apply=True)
    assert {d.outcome for d in result.decisions} == {"skipped"}
    assert all("allow-listed" in d.reason for d in result.decisions)
    assert kube.writes() == []


def test_an_ipv4_mapped_source_is_blocked_as_the_ipv4_address_it_is(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    result = respond(_pb(playbook, tmp_path), loaded(make_alert("::ffff:203.0.113.7")))
    manifest = yaml.safe_load(result.artifacts["networkpolicy-shop-cnsec-blocklist.yaml"])
    assert _excepts(manifest) == ["203.0.113.7/32"]


def test_an_allow_list_entry_written_ipv4_mapped_protects_the_ipv4_address(
        playbook: PlaybookFactory, respond: Runner, tmp_path: Path) -> None:
    pb = _pb(playbook, tmp_path, "allow_list: {cidrs: ['::ffff:192.0.2.0/120']}\n")
    result = respond(pb, loaded(make_alert("192.0.2.77")))
    assert {d.outcome for d in result.decisions} == {"skipped"}
