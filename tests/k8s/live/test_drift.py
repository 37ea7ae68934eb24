"""``cnsec assess --cluster --compare DIR``: what runs but is not declared, what is declared but does not
run, and security fields changed in place."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.k8s.live.apiserver import RecordedCluster
from tests.k8s.live.conftest import SHOP, Serve

Run = Callable[..., tuple[int, str, str]]


def _drift(run_cli: Run, serve: Serve, cluster: RecordedCluster, *extra: str) -> dict[str, object]:
    with serve(cluster) as (_, kubeconfig):
        _, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "--compare", str(SHOP.parent),
                            "-f", "json", *extra)
    report = json.loads(out)
    drift = sorted((f["check_id"], f["asset_id"], f["location"]) for f in report["findings"]
                   if f["check_id"].startswith("CNSEC-DRIFT"))
    return {"drift": drift, "summary": report["summary"], "findings": report["findings"]}


def _objects(cluster: RecordedCluster, kind: str) -> list[dict[str, object]]:
    return next(v for r, v in cluster.objects.items() if r.kind == kind)


def test_a_cluster_applied_from_the_manifests_has_no_drift(shop: RecordedCluster, serve: Serve,
                                                           run_cli: Run) -> None:
    result = _drift(run_cli, serve, shop)
    assert result["drift"] == []
    assert result["summary"]["drift"] == {  # type: ignore[index]
        "compared_with": str(SHOP.parent), "live_only": 0, "manifest_only": 0, "changed": 0}


def test_live_only_manifest_only_and_changed_fields_are_each_reported(shop: RecordedCluster, serve: Serve,
                                                                      run_cli: Run) -> None:
    api = next(o for o in _objects(shop, "Deployment") if o["metadata"]["name"] == "api")  # type: ignore[index]
    api["spec"]["template"]["spec"]["containers"][0]["image"] = "acme/api:hotfix"  # type: ignore[index]
    policies = _objects(shop, "NetworkPolicy")
    policies.clear()
    shop.add_children(shop.add({"apiVersion": "apps/v1", "kind": "Deployment",
                                "metadata": {"name": "miner", "namespace": "shop"},
                                "spec": {"selector": {"matchLabels": {"app": "miner"}},
                                         "template": {"metadata": {"labels": {"app": "miner"}},
                                                      "spec": {"containers": [{"name": "m", "image": "xmrig"}]}}}}))
    result = _drift(run_cli, serve, shop)
    assert result["drift"] == [
        ("CNSEC-DRIFT-001", "Deployment/shop/miner", ""),
        ("CNSEC-DRIFT-002", "NetworkPolicy/shop/db-only-from-api", ""),
        ("CNSEC-DRIFT-003", "Deployment/shop/api", "spec.template.spec.containers[api].image"),
    ]
    changed = next(f for f in result["findings"] if f["check_id"] == "CNSEC-DRIFT-003")  # type: ignore[attr-defined]
    assert '"acme/api:latest"' in changed["message"] and '"acme/api:hotfix"' in changed["message"]


def test_a_kind_that_could_not_be_listed_is_not_called_missing(shop: RecordedCluster, serve: Serve,
                                                              run_cli: Run) -> None:
    with serve(shop, forbidden={"networkpolicies.networking.k8s.io"}) as (_, kubeconfig):
        _, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "--compare", str(SHOP.parent),
                            "-f", "json")
    assert not [f for f in json.loads(out)["findings"] if f["check_id"] == "CNSEC-DRIFT-002"]
