"""``cnsec assess --cluster`` and ``cnsec iam … --cluster`` against the recorded cluster on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.k8s.live.apiserver import RecordedCluster
from tests.k8s.live.conftest import SECRET_VALUE, SHOP, Serve, unreachable_kubeconfig

Run = Callable[..., tuple[int, str, str]]


def test_assess_cluster_reports_findings_at_their_live_objects(shop: RecordedCluster, serve: Serve,
                                                                run_cli: Run) -> None:
    with serve(shop) as (_, kubeconfig):
        code, out, err = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", "json")
    assert code == 1, err  # a privileged container: critical, at or above --fail-on high
    report = json.loads(out)
    assert report["target"] == "cluster://shop-prod"
    privileged = next(f for f in report["findings"] if f["check_id"] == "CNSEC-K8S-001")
    assert privileged["source"] == {"file": "cluster://shop-prod/shop/Deployment/api", "line": None}
    assert privileged["location"] == "spec.template.spec.containers[0].securityContext.privileged"
    api = next(a for a in report["assets"] if a["id"] == "Deployment/shop/api")
    assert api["attrs"]["pods"] == 3


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "markdown"])
def test_a_forbidden_list_is_reported_in_every_format(fmt: str, shop: RecordedCluster, serve: Serve,
                                                      run_cli: Run) -> None:
    with serve(shop, forbidden={"roles.rbac.authorization.k8s.io"}) as (_, kubeconfig):
        code, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", fmt)
    assert code == 1
    text = " ".join(out.split())
    assert "cannot 'list' roles.rbac.authorization.k8s.io" in text
    assert "Deployment/shop/api" in text  # the rest of the cluster is assessed


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "markdown"])
def test_no_format_shows_a_secret_value(fmt: str, shop: RecordedCluster, serve: Serve, run_cli: Run) -> None:
    with serve(shop) as (_, kubeconfig):
        _, out, err = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", fmt)
    assert SECRET_VALUE not in out + err


def test_a_baseline_of_the_manifests_hides_the_same_findings_in_the_cluster(
        shop: RecordedCluster, serve: Serve, run_cli: Run, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    run_cli("assess", str(SHOP), "--write-baseline", str(baseline), "-f", "json")
    with serve(shop) as (_, kubeconfig):
        code, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", "json",
                               "--baseline", str(baseline))
    summary = json.loads(out)["summary"]
    assert summary["baselined"] > 50
    assert summary["findings"] == 0
    assert code == 0


def test_a_suppression_can_name_live_objects_by_their_location(shop: RecordedCluster, serve: Serve,
                                                               run_cli: Run, tmp_path: Path) -> None:
    config = tmp_path / ".cnsec.yaml"
    config.write_text("ignore:\n  - check: CNSEC-K8S-001\n    file: 'cluster://shop-prod/shop/*'\n"
                      "    reason: accepted for the load test\n")
    with serve(shop) as (_, kubeconfig):
        _, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", "json",
                            "--config", str(config))
    privileged = [f for f in json.loads(out)["findings"] if f["check_id"] == "CNSEC-K8S-001"]
    assert privileged and all(f["suppressed"] for f in privileged)


def test_iam_audit_of_the_cluster_finds_what_the_manifests_show(shop: RecordedCluster, serve: Serve,
                                                                 run_cli: Run) -> None:
    _, files, _ = run_cli("iam", "audit", str(SHOP), "-f", "json")
    with serve(shop) as (_, kubeconfig):
        code, live, err = run_cli("iam", "audit", "--cluster", "--kubeconfig", str(kubeconfig), "-f", "json")
    assert code == 1, err
    ids = sorted(f["id"] for f in json.loads(live)["findings"])
    assert ids == sorted(f["id"] for f in json.loads(files)["findings"])
    assert all(f["source"]["file"].startswith("cluster://") for f in json.loads(live)["findings"])


def test_who_can_reads_bindings_from_the_cluster(shop: RecordedCluster, serve: Serve, run_cli: Run) -> None:
    with serve(shop) as (_, kubeconfig):
        code, out, err = run_cli("iam", "who-can", "get", "secrets", "-n", "shop", "--cluster",
                                 "--kubeconfig", str(kubeconfig))
    assert code == 0, err
    assert "ServiceAccount shop/api" in out and "User ops@example.com" in out


def test_an_unreachable_cluster_exits_2_with_one_line(tmp_path: Path, run_cli: Run) -> None:
    kubeconfig = unreachable_kubeconfig(tmp_path)
    code, _, err = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig))
    assert code == 2
    assert "cannot reach the Kubernetes API" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [("assess",), ("assess", "x.yaml", "--cluster"), ("assess", ".", "-n", "shop"),
                                  ("iam", "audit")])
def test_cluster_options_used_wrongly_are_usage_errors(args: tuple[str, ...], run_cli: Run) -> None:
    code, _, err = run_cli(*args)
    assert code == 2 and err.startswith("cnsec: ")


def test_sarif_locates_a_live_finding_at_its_cluster_uri(shop: RecordedCluster, serve: Serve, run_cli: Run) -> None:
    with serve(shop) as (_, kubeconfig):
        _, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-f", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "cluster://shop-prod/shop/Deployment/api" in uris
    assert all(u.startswith("cluster://shop-prod/") for u in uris)


def test_assess_one_namespace_of_the_cluster(shop: RecordedCluster, serve: Serve, run_cli: Run) -> None:
    shop.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "namespace": "other"},
              "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}})
    with serve(shop) as (server, kubeconfig):
        _, out, _ = run_cli("assess", "--cluster", "--kubeconfig", str(kubeconfig), "-n", "shop", "-f", "json")
    report = json.loads(out)
    assert report["target"] == "cluster://shop-prod/shop"
    assets = {a["id"] for a in report["assets"]}
    assert "Deployment/shop/api" in assets and "Pod/other/stray" not in assets
    assert "ClusterRoleBinding/ops-admin" not in assets  # cluster-scoped: not read, and said so
    assert any("namespace scope (-n shop)" in s["message"] for s in report["skipped"])
    assert all("/namespaces/shop/" in r.path for r in server.requests if r.path.endswith("/pods"))
