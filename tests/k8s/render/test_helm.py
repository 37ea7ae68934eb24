"""Helm charts: rendered with the user's values, findings pointing to the template line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnsec.k8s.render.helm import HelmOptions, helm_argv, split_output, template_path
from tests.k8s.render.conftest import DATA, Run, assess_json, needs_helm

CHART = DATA / "onlineboutique-chart"


def test_the_helm_command_line_carries_values_set_release_and_namespace(tmp_path: Path) -> None:
    values = tmp_path / "prod.yaml"
    values.write_text("x: 1\n")
    argv = helm_argv("/bin/helm", "charts/api", HelmOptions(values=(str(values),), set=("image.tag=1.2.3",),
                                                           release="api", namespace="shop"))
    assert argv[:4] == ["/bin/helm", "template", "api", str(Path("charts/api").resolve())]
    assert argv[4:] == ["--namespace", "shop", "--values", str(values), "--set", "image.tag=1.2.3"]


def test_without_a_release_name_the_chart_renders_as_helm_template_names_it() -> None:
    assert helm_argv("helm", "c", HelmOptions())[2] == "release-name"


def test_each_rendered_document_is_paired_with_the_template_its_source_comment_names() -> None:
    output = ("---\n# Source: api/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"
              "---\n# Source: api/charts/redis/templates/svc.yaml\napiVersion: v1\nkind: Service\n"
              "metadata:\n  name: r\n---\n# Source: api/templates/empty.yaml\n# nothing\n")
    parts = split_output(output)
    assert [s for s, _ in parts] == ["api/templates/sa.yaml", "api/charts/redis/templates/svc.yaml"]
    assert template_path("charts/api", parts[1][0] or "") == "charts/api/charts/redis/templates/svc.yaml"


@needs_helm
def test_a_chart_given_as_path_is_rendered_with_values_set_release_and_namespace(
        run_cli: Run, tmp_path: Path) -> None:
    values = tmp_path / "prod.yaml"
    values.write_text("adService:\n  name: ads\n")
    code, report, _ = assess_json(run_cli, str(CHART), "--values", str(values), "--set", "images.tag=v9.9.9",
                                  "--release", "shop", "-n", "shop")
    assert code == 0
    deployments = [a for a in report["assets"] if a["id"].startswith("Deployment/")]
    assert [a["id"] for a in deployments] == ["Deployment/shop/ads"]
    assert deployments[0]["attrs"]["images"][0].endswith(":v9.9.9")
    assert report["summary"]["rendered"] == 1


@needs_helm
def test_a_finding_on_a_chart_points_to_the_template_line_that_writes_the_key(run_cli: Run) -> None:
    _, report, _ = assess_json(run_cli, str(CHART))
    template = CHART / "templates" / "adservice.yaml"
    lines = template.read_text().splitlines()
    image = [f for f in report["findings"] if f["location"].endswith("containers[0].image")]
    assert image, "an image finding is expected on adservice"
    source = image[0]["source"]
    assert source["file"] == str(template)
    assert lines[source["line"] - 1].strip().startswith("image:")


@needs_helm
def test_templates_and_values_of_a_chart_are_not_read_again_as_plain_files(run_cli: Run, tmp_path: Path) -> None:
    shutil.copytree(CHART, tmp_path / "chart")
    _, report, _ = assess_json(run_cli, str(tmp_path))
    assert report["skipped"] == []
    assert report["errors"] == []
    assert len({a["id"] for a in report["assets"]}) == len(report["assets"])


@needs_helm
def test_a_chart_helm_cannot_render_is_an_input_error_with_helms_reason_and_exit_2(
        run_cli: Run, tmp_path: Path) -> None:
    shutil.copytree(DATA / "kube-linter-malformed-deps", tmp_path / "broken")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
                                       "  containers:\n  - name: c\n    image: nginx\n")
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2
    assert "type mismatch on child" in err
    assert "Pod/default/p" in out  # the rest is still assessed


def test_a_chart_without_helm_is_an_input_error_naming_what_to_install_and_exit_2(
        run_cli: Run, no_renderers: None) -> None:
    code, report, err = assess_json(run_cli, str(CHART))
    assert code == 2
    assert report["errors"][0]["file"] == str(CHART / "Chart.yaml")
    assert "needs helm, which was not found" in report["errors"][0]["message"]
    assert "needs helm" in err


def test_values_without_a_chart_among_the_paths_is_a_usage_error(run_cli: Run) -> None:
    code, _, err = run_cli("assess", str(DATA / "shop"), "--set", "a=b")
    assert code == 2
    assert "for a Helm chart given as PATH" in err


def test_a_values_file_that_does_not_exist_is_a_usage_error_naming_it(run_cli: Run) -> None:
    code, _, err = run_cli("assess", str(CHART), "--values", "nowhere.yaml")
    assert code == 2
    assert "nowhere.yaml: no such values file" in err


@needs_helm
def test_a_chart_found_from_the_current_folder_is_named_as_plain_files_are(
        run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(CHART, tmp_path / "chart")
    monkeypatch.chdir(tmp_path)
    _, report, _ = assess_json(run_cli, ".")
    assert {f["source"]["file"] for f in report["findings"]} == {"chart/templates/adservice.yaml"}


@needs_helm
def test_a_suppression_comment_in_a_template_waives_the_finding_it_names(run_cli: Run, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    template = chart / "templates" / "adservice.yaml"
    lines = template.read_text().splitlines()
    at = next(n for n, line in enumerate(lines) if line.strip().startswith("image:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at, f"{indent}# cnsec:ignore=CNSEC-K8S-025 the tag is pinned by the release pipeline")
    template.write_text("\n".join(lines) + "\n")
    _, report, _ = assess_json(run_cli, str(chart))
    image = [f for f in report["findings"] if f["check_id"] == "CNSEC-K8S-025"]
    assert image and all(f["suppressed"] for f in image)


@needs_helm
def test_a_render_error_quoting_a_secret_is_reported_without_it(run_cli: Run, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: leaky\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text('{{ fail (printf "bad key %s" "AKIAQ3EGRUVNZ4XKWT7P") }}\n')
    code, out, err = run_cli("assess", str(chart), "-f", "json")
    assert code == 2
    assert "AKIA" not in out + err
    assert "message is withheld" in err


def test_helm_options_with_no_render_are_a_usage_error(run_cli: Run) -> None:
    code, _, err = run_cli("assess", str(CHART), "--no-render", "--release", "api")
    assert code == 2
    assert "cannot go with --no-render" in err
