"""The live reader against a recorded API server on loopback, through the real ``kubernetes`` client."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cnsec.k8s.live.kinds import PARTIAL_METADATA_ACCEPT
from cnsec.k8s.live.reader import ClusterError, ClusterRead, cluster_uri, connect, read_cluster
from tests.k8s.live.apiserver import RecordedCluster
from tests.k8s.live.conftest import SECRET_VALUE, Serve, unreachable_kubeconfig


def _read(kubeconfig: Path, **options: object) -> ClusterRead:
    api, context = connect(kubeconfig=str(kubeconfig))
    try:
        return read_cluster(api, context, **options)  # type: ignore[arg-type]
    finally:
        api.close()


def _keys(read: ClusterRead) -> set[str]:
    return {f"{r.kind}/{r.namespace or ''}/{r.name}" for r in read.resources}


def test_no_request_asks_for_secret_data(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (server, kubeconfig):
        _read(kubeconfig)
    secret_requests = [r for r in server.requests if "secrets" in r.path]
    assert secret_requests, "Secrets were not listed at all"
    for r in secret_requests:
        assert r.path.endswith("/secrets"), f"a single Secret was fetched: {r.path}"
        assert r.accept == PARTIAL_METADATA_ACCEPT, f"{r.path} asked for whole Secrets ({r.accept})"


def test_a_secret_is_kept_as_metadata_without_the_last_applied_data(shop: RecordedCluster, serve: Serve) -> None:
    # kubectl apply keeps the whole Secret, values included, in an annotation that metadata carries
    with serve(shop) as (_, kubeconfig):
        read = _read(kubeconfig)
    secret = next(r for r in read.resources if r.kind == "Secret")
    assert set(secret.doc) == {"apiVersion", "kind", "metadata"}
    assert SECRET_VALUE not in json.dumps([r.doc for r in read.resources])


def test_every_request_is_a_get(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (server, kubeconfig):
        _read(kubeconfig)
    assert {r.method for r in server.requests} == {"GET"}
    assert not any("watch" in r.query for r in server.requests)


def test_pods_fold_into_the_controller_that_owns_them(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (_, kubeconfig):
        read = _read(kubeconfig)
    kinds = [r.kind for r in read.resources]
    assert "ReplicaSet" not in kinds  # the Deployment's, folded into it
    assert kinds.count("Job") == 0  # the CronJob's, folded into it
    assert [r.name for r in read.resources if r.kind == "Pod"] == ["debug"]  # only the naked pod stays
    by_name = {(r.kind, r.name): r for r in read.resources}
    assert by_name[("Deployment", "api")].extra["pods"] == 3
    assert by_name[("StatefulSet", "db")].extra["pods"] == 2
    assert by_name[("CronJob", "report")].extra["pods"] == 1
    assert read.stats["folded_pods"] == 6


def test_lists_are_read_page_by_page_with_continue(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (server, kubeconfig):
        paged = _read(kubeconfig, page_size=2)
        whole = _read(kubeconfig, page_size=500)
    assert _keys(paged) == _keys(whole)
    pod_pages = [r for r in server.requests if r.path == "/api/v1/pods"]
    assert any("continue" in r.query for r in pod_pages)
    assert all(r.query.get("limit") in ("2", "500") for r in pod_pages)


def test_objects_point_to_their_live_location(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (_, kubeconfig):
        read = _read(kubeconfig)
    by_name = {(r.kind, r.name): r for r in read.resources}
    assert by_name[("Deployment", "api")].file == "cluster://shop-prod/shop/Deployment/api"
    assert by_name[("ClusterRoleBinding", "ops-admin")].file == "cluster://shop-prod/ClusterRoleBinding/ops-admin"


def test_a_context_that_is_an_arn_stays_one_path_segment() -> None:
    uri = cluster_uri("arn:aws:eks:eu-west-1:123456789012:cluster/prod", "Pod", "x", "ns")
    assert uri == "cluster://arn%3Aaws%3Aeks%3Aeu-west-1%3A123456789012%3Acluster%2Fprod/ns/Pod/x"


def test_custom_resources_are_read_as_other_kinds(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (_, kubeconfig):
        read = _read(kubeconfig)
    policy = next(r for r in read.resources if r.kind == "CiliumNetworkPolicy")
    assert policy.api_version == "cilium.io/v2"


def test_a_forbidden_list_names_resource_and_verb_and_the_rest_is_read(shop: RecordedCluster,
                                                                      serve: Serve) -> None:
    with serve(shop, forbidden={"networkpolicies.networking.k8s.io"}) as (_, kubeconfig):
        read = _read(kubeconfig)
    [problem] = read.problems
    assert "forbidden" in problem.message
    assert "'list'" in problem.message and "networkpolicies.networking.k8s.io" in problem.message
    assert "Deployment" in {r.kind for r in read.resources}
    assert "NetworkPolicy" not in {r.kind for r in read.resources}


def test_a_slow_list_does_not_hold_up_the_others(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop, slow={"configmaps": 1.5}) as (_, kubeconfig):
        started = time.perf_counter()
        read = _read(kubeconfig, workers=8)
        took = time.perf_counter() - started
    assert not read.problems
    assert "ConfigMap" in {r.kind for r in read.resources}
    assert took < 1.5 * 2  # the other lists ran meanwhile: far less than one wait per list


def test_a_list_slower_than_the_timeout_is_reported_and_the_rest_is_read(shop: RecordedCluster,
                                                                        serve: Serve) -> None:
    with serve(shop, slow={"configmaps": 3.0}) as (_, kubeconfig):
        read = _read(kubeconfig, timeout=1.0)
    [problem] = read.problems
    assert "configmaps" in problem.message and "not assessed" in problem.message
    assert "Deployment" in {r.kind for r in read.resources}


def test_namespace_scope_reads_that_namespace_and_says_what_it_left_out(serve: Serve) -> None:
    cluster = RecordedCluster()
    for ns in ("shop", "other"):
        cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        cluster.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}})
    with serve(cluster) as (server, kubeconfig):
        read = _read(kubeconfig, namespace="shop")
    assert _keys(read) == {"Namespace//shop", "ConfigMap/shop/c"}
    assert any("cluster-scoped kinds" in s.message for s in read.skipped)
    assert not any(r.path == "/api/v1/configmaps" for r in server.requests)


def test_an_unreachable_cluster_is_one_clear_error(tmp_path: Path) -> None:
    kubeconfig = unreachable_kubeconfig(tmp_path)
    with pytest.raises(ClusterError, match=r"cannot reach the Kubernetes API at http://127\.0\.0\.1:9"):
        _read(kubeconfig)


def test_an_unknown_context_is_named_with_the_ones_that_exist(shop: RecordedCluster, serve: Serve) -> None:
    with serve(shop) as (_, kubeconfig), pytest.raises(ClusterError, match=r"no context 'prod'.*shop-prod"):
        connect("prod", str(kubeconfig))


def test_pods_fold_into_their_deployment_when_replicasets_are_forbidden(shop: RecordedCluster,
                                                                       serve: Serve) -> None:
    with serve(shop, forbidden={"replicasets.apps"}) as (_, kubeconfig):
        read = _read(kubeconfig)
    assert [r.name for r in read.resources if r.kind == "Pod"] == ["debug"]
    assert next(r for r in read.resources if r.name == "api" and r.kind == "Deployment").extra["pods"] == 3


def test_a_list_whose_continue_token_expired_is_read_again_from_the_start(shop: RecordedCluster,
                                                                         serve: Serve) -> None:
    with serve(shop, expire_once={"pods"}) as (server, kubeconfig):
        read = _read(kubeconfig, page_size=2)
    assert not read.problems
    assert read.stats["folded_pods"] == 6  # each pod counted once, not once per attempt
    firsts = [r for r in server.requests if r.path == "/api/v1/pods" and "continue" not in r.query]
    assert len(firsts) == 2
