from __future__ import annotations

from cnsec.respond.actions.quarantine_pod import pod_from_key, quarantine_policy
from cnsec.respond.kube import RecordingKubeApi
from tests.respond.conftest import PlaybookFactory, Runner, loaded, make_alert, validate_k8s

PLAYBOOK = """
rules:
  - name: isolate
    match: {threats: [exec-in-container]}
    do:
      - quarantine_pod: {namespace: shop}
"""


def _pod(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def _alert(key: str = "shop/web-7d9f") -> object:
    return make_alert(key, threat_id="exec-in-container", action="quarantine_pod")


def test_the_deny_all_policy_passes_the_kubernetes_schema() -> None:
    validate_k8s(quarantine_policy("shop", "cnsec-quarantine", "cnsec.io/quarantine", "true"))


def test_the_policy_denies_ingress_and_egress_of_labelled_pods() -> None:
    spec = quarantine_policy("shop", "cnsec-quarantine", "cnsec.io/quarantine", "true")["spec"]
    assert spec == {"podSelector": {"matchLabels": {"cnsec.io/quarantine": "true"}},
                    "policyTypes": ["Ingress", "Egress"]}


def test_pod_keys_with_and_without_namespace_are_understood() -> None:
    assert pod_from_key("shop/web-1", "default") == ("shop", "web-1")
    assert pod_from_key("pod=web-1", "prod") == ("prod", "web-1")
    assert pod_from_key("203.0.113.7:443 user=x", "default") is None


def test_apply_labels_the_pod_and_creates_the_policy(playbook: PlaybookFactory, respond: Runner,
                                                     kube: RecordingKubeApi) -> None:
    kube.objects[("Pod", "shop", "web-7d9f")] = _pod("shop", "web-7d9f")
    result = respond(playbook(PLAYBOOK), loaded(_alert()), apply=True)
    assert result.counts() == {"applied": 2}
    assert kube.objects[("Pod", "shop", "web-7d9f")]["metadata"]["labels"] == {
        "app": "web", "cnsec.io/quarantine": "true"}
    assert ("NetworkPolicy", "shop", "cnsec-quarantine") in kube.objects


def test_quarantining_twice_writes_nothing_the_second_time(playbook: PlaybookFactory, respond: Runner,
                                                          kube: RecordingKubeApi) -> None:
    kube.objects[("Pod", "shop", "web-7d9f")] = _pod("shop", "web-7d9f")
    respond(playbook(PLAYBOOK), loaded(_alert()), apply=True)
    writes = len(kube.writes())
    again = respond(playbook(PLAYBOOK), loaded(_alert()), apply=True)
    assert again.counts() == {"unchanged": 2}
    assert len(kube.writes()) == writes


def test_a_second_pod_reuses_the_namespace_policy(playbook: PlaybookFactory, respond: Runner,
                                                  kube: RecordingKubeApi) -> None:
    for name in ("web-1", "web-2"):
        kube.objects[("Pod", "shop", name)] = _pod("shop", name)
    respond(playbook(PLAYBOOK), loaded(_alert("shop/web-1"), _alert("shop/web-2")), apply=True)
    assert [w for w in kube.writes() if w[1] == "NetworkPolicy"] == [
        ("create", "NetworkPolicy", "shop", "cnsec-quarantine")]


def test_a_missing_pod_is_a_failed_decision(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(PLAYBOOK), loaded(_alert("shop/gone")), apply=True)
    assert any(d.outcome == "failed" and "not found" in d.reason for d in result.decisions)


def test_kube_system_pods_are_never_quarantined(playbook: PlaybookFactory, respond: Runner,
                                                kube: RecordingKubeApi) -> None:
    kube.objects[("Pod", "kube-system", "coredns-1")] = _pod("kube-system", "coredns-1")
    result = respond(playbook(PLAYBOOK), loaded(_alert("kube-system/coredns-1")), apply=True)
    assert {d.outcome for d in result.decisions} == {"skipped"}
    assert kube.writes() == []


def test_a_falco_pod_key_takes_its_namespace_from_the_evidence(playbook: PlaybookFactory, respond: Runner,
                                                              kube: RecordingKubeApi) -> None:
    kube.objects[("Pod", "payments", "api-1")] = _pod("payments", "api-1")
    alert = make_alert("pod=api-1", threat_id="exec-in-container",
                       evidence=[{"output_fields": {"k8s.ns.name": "payments", "k8s.pod.name": "api-1"}}])
    result = respond(playbook(PLAYBOOK), loaded(alert), apply=True)
    assert result.counts() == {"applied": 2}
    assert kube.objects[("Pod", "payments", "api-1")]["metadata"]["labels"]["cnsec.io/quarantine"] == "true"


def test_an_exec_alert_keyed_by_user_quarantines_the_target_pod(playbook: PlaybookFactory, respond: Runner) -> None:
    evidence = [{"source": "k8s-audit", "event": {
        "objectRef": {"apiVersion": "v1", "name": "nginx-7998647bdf-phvq7", "namespace": "default",
                      "resource": "pods", "subresource": "attach"},
        "user": {"username": "minikube-user"}, "verb": "create"}}]
    alert = make_alert("user=minikube-user", threat_id="exec-in-container", evidence=evidence)
    result = respond(playbook(PLAYBOOK), loaded(alert))
    assert [d.change.target for d in result.decisions if d.change] == [
        "pod default/nginx-7998647bdf-phvq7", "networkpolicy default/cnsec-quarantine"]


def test_an_alert_naming_no_pod_is_skipped(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(PLAYBOOK), loaded(make_alert("user=alice", threat_id="exec-in-container")))
    [decision] = result.decisions
    assert decision.outcome == "skipped" and "evidence names none" in decision.reason


def test_a_same_named_policy_not_managed_by_cnsec_is_not_replaced(playbook: PlaybookFactory, respond: Runner,
                                                                  kube: RecordingKubeApi) -> None:
    kube.objects[("Pod", "shop", "web-7d9f")] = _pod("shop", "web-7d9f")
    theirs = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "cnsec-quarantine", "namespace": "shop"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    kube.objects[("NetworkPolicy", "shop", "cnsec-quarantine")] = theirs
    result = respond(playbook(PLAYBOOK), loaded(_alert()), apply=True)
    [failed] = [d for d in result.decisions if d.outcome == "failed"]
    assert "not managed by cnsec" in failed.reason
    assert kube.objects[("NetworkPolicy", "shop", "cnsec-quarantine")] == theirs
