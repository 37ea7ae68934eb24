"""Kustomize overlays: rendered, each object assessed once, findings pointing to base or patch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnsec.k8s.render import tools
from cnsec.k8s.render.kustomize import layout, render_overlay, wrapper_text
from tests.k8s.render.conftest import DATA, Run, assess_json, needs_helm, needs_kubectl, needs_kustomize_with_helm4

KUBECTL = tools.find_tool("kubectl")
SHOP = DATA / "shop"
KUBE_LINTER = DATA / "kube-linter-kustomize"


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_wrapper_names_the_overlay_relative_to_it_and_asks_for_origin_annotations(tmp_path: Path) -> None:
    text = wrapper_text(str(SHOP / "overlays" / "prod"), str(tmp_path))
    assert "buildMetadata: [originAnnotations]" in text
    assert "- ../" in text


def test_the_files_an_overlay_reads_are_found_through_its_bases() -> None:
    lay = layout(str(SHOP / "overlays" / "prod"))
    names = {str(Path(f).relative_to(SHOP)) for f in lay.files}
    assert names == {"overlays/prod/kustomization.yaml", "overlays/prod/debug-privileged.yaml",
                     "base/kustomization.yaml", "base/deployment.yaml"}


@needs_kubectl
def test_an_overlay_folder_is_rendered_and_its_kustomization_is_not_an_asset(run_cli: Run) -> None:
    code, report, _ = assess_json(run_cli, str(KUBE_LINTER))
    assert code == 0
    assert sorted(a["id"] for a in report["assets"]) == ["Deployment/default/kustomize-test-deployment",
                                                        "Service/default/kustomize-test-service"]


@needs_kubectl
def test_a_finding_on_an_overlay_points_to_the_base_file_line_of_the_key(run_cli: Run) -> None:
    _, report, _ = assess_json(run_cli, str(KUBE_LINTER))
    base = KUBE_LINTER / "base" / "deployment.yaml"
    image = [f for f in report["findings"] if f["location"].endswith("containers[0].image")]
    assert image and image[0]["source"] == {"file": str(base), "line": line_of(base, "image:")}


@needs_kubectl
def test_a_key_set_by_a_patch_points_to_the_patch(run_cli: Run) -> None:
    _, report, _ = assess_json(run_cli, str(SHOP / "overlays" / "prod"))
    patch = SHOP / "overlays" / "prod" / "debug-privileged.yaml"
    privileged = [f for f in report["findings"] if f["check_id"] == "CNSEC-K8S-001"]
    assert [f["source"] for f in privileged] == [{"file": str(patch), "line": line_of(patch, "privileged:")}]


@needs_kubectl
def test_a_base_taken_in_by_overlays_is_assessed_once_per_overlay_and_never_on_its_own(run_cli: Run) -> None:
    _, report, _ = assess_json(run_cli, str(SHOP))
    assert sorted(a["id"] for a in report["assets"]) == ["Deployment/shop-dev/dev-api", "Deployment/shop/prod-api"]
    assert report["summary"]["rendered"] == 2


@needs_kubectl
def test_the_origin_annotation_is_taken_off_before_checks_see_the_object() -> None:
    rendered = render_overlay(str(KUBE_LINTER))
    assert all("annotations" not in r.doc["metadata"] for r in rendered.resources)


@needs_kubectl
def test_an_overlay_kustomize_cannot_build_is_an_input_error_and_exit_2_and_the_rest_is_assessed(
        run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    shutil.copytree(KUBE_LINTER, tmp_path / "good")
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2
    assert "missing.yaml" in err
    assert "kustomize-test-deployment" in out


def test_an_overlay_without_kubectl_is_an_input_error_and_exit_2(run_cli: Run, no_renderers: None) -> None:
    code, report, _ = assess_json(run_cli, str(KUBE_LINTER))
    assert code == 2
    assert report["errors"][0]["file"] == str(KUBE_LINTER / "kustomization.yaml")
    assert "needs kubectl" in report["errors"][0]["message"]


def test_no_render_reads_an_overlays_files_as_they_are(run_cli: Run, no_renderers: None) -> None:
    code, report, _ = assess_json(run_cli, str(KUBE_LINTER), "--no-render")
    assert code == 0
    assert "Deployment/default/test-deployment" in {a["id"] for a in report["assets"]}


@needs_helm
@needs_kustomize_with_helm4
def test_helm_charts_of_an_overlay_are_rendered_and_point_to_its_helmcharts_field(
        run_cli: Run, tmp_path: Path) -> None:
    shutil.copytree(DATA / "onlineboutique-chart", tmp_path / "charts" / "onlineboutique")
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: shop\nhelmCharts:\n- name: onlineboutique\n  releaseName: web\n")
    _, report, _ = assess_json(run_cli, str(tmp_path))
    assert "Deployment/shop/adservice" in {a["id"] for a in report["assets"]}
    sources = {(f["source"]["file"], f["source"]["line"]) for f in report["findings"]}
    assert sources == {(str(tmp_path / "kustomization.yaml"), 2)}


def test_an_overlay_naming_a_remote_base_is_refused_without_reaching_the_network(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- github.com/kubernetes/ingress-nginx/deploy/static/provider/cloud?ref=main\n")
    code, report, _ = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "cnsec does not fetch" in report["errors"][0]["message"]



@needs_kubectl
def test_a_kustomization_file_given_as_path_renders_its_overlay(run_cli: Run) -> None:
    _, report, _ = assess_json(run_cli, str(KUBE_LINTER / "kustomization.yaml"))
    assert sorted(a["id"] for a in report["assets"]) == ["Deployment/default/kustomize-test-deployment",
                                                        "Service/default/kustomize-test-service"]


@needs_kubectl
def test_an_overlay_with_helm_charts_and_no_helm_is_an_input_error_naming_helm(
        run_cli: Run, tmp_path: Path, no_renderers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNSEC_KUBECTL", str(KUBECTL))
    shutil.copytree(DATA / "onlineboutique-chart", tmp_path / "charts" / "onlineboutique")
    (tmp_path / "kustomization.yaml").write_text("helmCharts:\n- name: onlineboutique\n  releaseName: web\n")
    code, report, _ = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "(its helmCharts) needs helm" in report["errors"][0]["message"]
    assert report["assets"] == []  # the chart under the overlay's chart home is not rendered on its own
