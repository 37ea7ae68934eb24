"""deploy/cnsec-reader.yaml: enough for the reader, nothing more, and clean by cnsec's own checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cnsec.iam.rbac_audit import load_model
from cnsec.k8s.live.kinds import BUILTIN_READ, METADATA_ONLY
from cnsec.k8s.live.reader import connect, read_cluster
from cnsec.k8s.rbac import RbacModel, Request
from tests.k8s.live.apiserver import RecordedCluster
from tests.k8s.live.conftest import Serve

ROLE = Path(__file__).resolve().parents[3] / "deploy" / "cnsec-reader.yaml"
READER = "system:serviceaccount:cnsec:cnsec-reader"
Run = Callable[..., tuple[int, str, str]]


def _model() -> RbacModel:
    model, problems = load_model([str(ROLE)])
    assert not problems
    return model


def _authorize(model: RbacModel) -> Callable[[str, str, str | None], bool]:
    def allowed(group: str, resource: str, namespace: str | None) -> bool:
        return model.can(READER, Request(verb="list", resource=resource, api_group=group,
                                         namespace=namespace)) is not None
    return allowed


def test_the_reader_role_lets_the_reader_read_everything_but_secrets(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop, authorize=_authorize(_model())) as (_, kubeconfig):
        api, context = connect(kubeconfig=str(kubeconfig))
        read = read_cluster(api, context)
        api.close()
    assert read.problems == []
    assert [s.message.split(":")[0] for s in read.skipped] == ["Secret objects are not listed"]
    assert {r.kind for r in read.resources} >= {"Deployment", "StatefulSet", "CronJob", "Pod", "Service", "Ingress",
                                               "NetworkPolicy", "Role", "RoleBinding", "ClusterRoleBinding",
                                               "ServiceAccount", "ConfigMap", "Namespace", "CiliumNetworkPolicy"}


def test_the_reader_role_grants_only_list_and_only_what_the_reader_lists() -> None:
    model = _model()
    [role] = [r for r in model.roles.values() if r.name == "cnsec-reader"]
    granted = {(g, res) for rule in role.rules for g in rule.api_groups for res in rule.resources}
    assert {v for rule in role.rules for v in rule.verbs} == {"list"}
    assert not any(rule.non_resource_urls for rule in role.rules)
    builtin = {(g, r) for g, r in granted if g in {grp for grp, _ in BUILTIN_READ}}
    assert builtin == set(BUILTIN_READ) - set(METADATA_ONLY)  # nothing unused, nothing on Secrets


def test_cnsec_finds_nothing_to_fix_in_the_reader_role(run_cli: Run) -> None:
    code, out, err = run_cli("assess", str(ROLE), "-f", "json", "--fail-on", "low")  # the role, not deploy/serve
    assert code == 0, err
    assert json.loads(out)["summary"]["findings"] == 0
    code, out, _ = run_cli("iam", "audit", str(ROLE.parent), "-f", "json", "--fail-on", "low")
    assert code == 0 and json.loads(out)["findings"] == []
