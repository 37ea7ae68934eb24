from __future__ import annotations

import pytest

from cnsec.respond.actions import deny_access
from cnsec.respond.actions.deny_access import IdentityDirectory
from cnsec.respond.kube import RecordingKubeApi
from tests.respond.conftest import PlaybookFactory, Runner, loaded, make_alert

PLAYBOOK = """
rules:
  - name: deny
    match: {threats: [credential-abuse]}
    do:
      - deny_access: {via: [VIA]}
"""


class Directory:
    """An identity store double that behaves like the real contract: idempotent, reports changes."""

    def __init__(self) -> None:
        self.disabled: set[str] = set()
        self.tokens = {"alice": 3}

    def disable_user(self, name: str) -> bool:
        changed = name not in self.disabled
        self.disabled.add(name)
        return changed

    def revoke_tokens(self, user: str) -> int:
        return self.tokens.pop(user, 0)


def _alert(key: str = "user=alice") -> object:
    return make_alert(key, threat_id="credential-abuse", action="deny_access")


def _binding(kind: str, name: str, ns: str | None, *subjects: dict) -> dict:
    meta = {"name": name} | ({"namespace": ns} if ns else {})
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": list(subjects)}


ALICE = {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}
BOB = {"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}


def test_the_directory_double_satisfies_the_protocol() -> None:
    assert isinstance(Directory(), IdentityDirectory)


def test_apply_disables_the_user_and_revokes_tokens(playbook: PlaybookFactory, respond: Runner) -> None:
    directory = Directory()
    result = respond(playbook(PLAYBOOK.replace("VIA", "iam")), loaded(_alert()), apply=True,
                     directory=directory)
    [decision] = result.decisions
    assert decision.outcome == "applied" and "3 token(s) revoked" in decision.reason
    assert directory.disabled == {"alice"}


def test_denying_twice_reports_unchanged(playbook: PlaybookFactory, respond: Runner) -> None:
    directory = Directory()
    pb = playbook(PLAYBOOK.replace("VIA", "iam"))
    respond(pb, loaded(_alert()), apply=True, directory=directory)
    again = respond(pb, loaded(_alert()), apply=True, directory=directory)
    assert again.counts() == {"unchanged": 1}


def test_without_the_iam_directory_the_step_is_skipped_and_says_so(
        playbook: PlaybookFactory, respond: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deny_access, "directory_available", lambda: False)
    result = respond(playbook(PLAYBOOK.replace("VIA", "iam")), loaded(_alert()), apply=True)
    [decision] = result.decisions
    assert decision.outcome == "skipped" and "IAM store is not available" in decision.reason


def test_rolebindings_naming_the_user_are_cleaned(playbook: PlaybookFactory, respond: Runner,
                                                  kube: RecordingKubeApi) -> None:
    for obj in (_binding("RoleBinding", "team-edit", "shop", ALICE, BOB),
                _binding("RoleBinding", "alice-edit", "shop", ALICE),
                _binding("ClusterRoleBinding", "alice-admin", None, ALICE),
                _binding("RoleBinding", "bob-edit", "shop", BOB)):
        kube._store(obj)
    result = respond(playbook(PLAYBOOK.replace("VIA", "rolebinding")), loaded(_alert()), apply=True)
    assert result.counts() == {"applied": 1}
    kinds = {(k, ns, n) for k, ns, n in kube.objects}
    assert ("RoleBinding", "shop", "alice-edit") not in kinds
    assert ("ClusterRoleBinding", None, "alice-admin") not in kinds
    assert kube.objects[("RoleBinding", "shop", "team-edit")]["subjects"] == [BOB]
    assert ("RoleBinding", "shop", "bob-edit") in kinds


def test_cleaning_rolebindings_twice_writes_nothing(playbook: PlaybookFactory, respond: Runner,
                                                   kube: RecordingKubeApi) -> None:
    kube._store(_binding("RoleBinding", "alice-edit", "shop", ALICE))
    pb = playbook(PLAYBOOK.replace("VIA", "rolebinding"))
    respond(pb, loaded(_alert()), apply=True)
    writes = len(kube.writes())
    assert respond(pb, loaded(_alert()), apply=True).counts() == {"unchanged": 1}
    assert len(kube.writes()) == writes


def test_a_service_account_user_matches_its_subject(playbook: PlaybookFactory, respond: Runner,
                                                   kube: RecordingKubeApi) -> None:
    sa = {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}
    kube._store(_binding("RoleBinding", "builder-edit", "ci", sa))
    respond(playbook(PLAYBOOK.replace("VIA", "rolebinding")),
            loaded(_alert("system:serviceaccount:ci:builder")), apply=True)
    assert ("RoleBinding", "ci", "builder-edit") not in kube.objects


def test_a_service_account_subject_without_namespace_is_the_one_of_the_bindings_namespace(
        playbook: PlaybookFactory, respond: Runner, kube: RecordingKubeApi) -> None:
    """The RBAC authorizer reads a namespace-less ServiceAccount subject of a RoleBinding as the binding's
    namespace's: removing the service account's access must remove that subject too."""
    sa = {"kind": "ServiceAccount", "name": "builder"}
    kube._store(_binding("RoleBinding", "builder-edit", "ci", sa, BOB))
    kube._store(_binding("RoleBinding", "builder-view", "default", dict(sa)))
    respond(playbook(PLAYBOOK.replace("VIA", "rolebinding")),
            loaded(_alert("system:serviceaccount:ci:builder")), apply=True)
    assert kube.objects[("RoleBinding", "ci", "builder-edit")]["subjects"] == [BOB]
    assert kube.objects[("RoleBinding", "default", "builder-view")]["subjects"] == [sa]


def test_system_identities_are_never_denied(playbook: PlaybookFactory, respond: Runner) -> None:
    directory = Directory()
    result = respond(playbook(PLAYBOOK.replace("VIA", "iam, rolebinding")),
                     loaded(_alert("system:node:worker-1"), _alert("kubernetes-admin")), apply=True,
                     directory=directory)
    assert {d.outcome for d in result.decisions} == {"skipped"}
    assert directory.disabled == set()


def test_keys_about_other_things_are_not_users() -> None:
    from cnsec.respond.actions.deny_access import user_from_key

    assert user_from_key("user=alice") == "alice"
    assert user_from_key("principal=arn:aws:iam::123456789012:user/bob") == "arn:aws:iam::123456789012:user/bob"
    assert user_from_key("alice") == "alice"
    assert [user_from_key(k) for k in ("ip=203.0.113.7", "pod=web-1", "-")] == [None, None, None]


def test_an_alert_about_an_address_is_skipped_by_deny_access(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(PLAYBOOK.replace("VIA", "iam")), loaded(_alert("ip=203.0.113.7")), apply=True,
                     directory=Directory())
    [decision] = result.decisions
    assert decision.outcome == "skipped" and "names no user" in decision.reason


def test_a_user_unknown_to_the_iam_store_is_skipped_not_failed(playbook: PlaybookFactory,
                                                              respond: Runner) -> None:
    from cnsec.errors import UsageError

    class Strict(Directory):
        def disable_user(self, name: str) -> bool:
            raise UsageError(f"no user {name!r}")

    result = respond(playbook(PLAYBOOK.replace("VIA", "iam")), loaded(_alert("user=mallory")), apply=True,
                     directory=Strict())
    [decision] = result.decisions
    assert decision.outcome == "skipped" and "no user 'mallory'" in decision.reason
    assert not result.failed


def test_an_unchanged_directory_result_costs_no_rate_budget(playbook: PlaybookFactory, respond: Runner) -> None:
    directory = Directory()
    directory.disabled = {"alice"}
    directory.tokens = {}
    pb = playbook("rate_limit: {max_actions: 1}\n" + PLAYBOOK.replace("VIA", "iam"))
    first = respond(pb, loaded(_alert("user=alice")), apply=True, directory=directory)
    assert first.counts() == {"unchanged": 1} and first.rate_used == 0
    second = respond(pb, loaded(_alert("user=bob")), apply=True, directory=directory)
    assert second.counts() == {"applied": 1}
