"""Real public files that cnsec misread (issue #12): each loads, or is skipped visibly, in every format.

The inputs are slices of upstream files, listed with repo, path and commit in data/realworld/SOURCES.md.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cnsec.assess.inventory import load_inventory
from cnsec.assess.loaders.dockerfile import is_dockerfile_name
from tests.assess.conftest import write

REAL = Path(__file__).parent / "data" / "realworld"
CRD = REAL / "prometheus-operator" / "monitoring.coreos.com_alertmanagerconfigs.slice.yaml"
RULE = REAL / "kube-prometheus" / "kubernetesControlPlane-prometheusRule.slice.yaml"
HELM = REAL / "kube-linter" / "mychart-deployment.yaml"
Run = Callable[..., tuple[int, str, str]]

PRIVILEGED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: agent
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: agent
          image: quay.io/prometheus/node-exporter:v1.8.2
          securityContext:
            privileged: true
"""


def test_the_alertmanagerconfig_crd_with_a_plain_equals_in_an_enum_loads() -> None:
    inv = load_inventory([str(CRD)], workers=1)
    assert inv.problems == []
    [crd] = inv.k8s
    assert crd.kind == "CustomResourceDefinition"
    assert "=" in str(crd.doc)  # the enum keeps '=' as the string it is


def test_a_privileged_deployment_bundled_after_the_crd_and_a_broken_document_is_assessed(
        tmp_path: Path, run_cli: Run) -> None:
    crd = CRD.read_text()
    broken = "apiVersion: v1\nkind: ConfigMap\ndata: [unclosed\n"
    bundle = write(tmp_path / "bundle.yaml", f"{crd}---\n{broken}---\n{PRIVILEGED}")
    _, out, _ = run_cli("assess", str(bundle), "-f", "json", "--fail-on", "none")
    data = json.loads(out)
    assert "Deployment/monitoring/agent" in {a["id"] for a in data["assets"]}
    assert any(f["check_id"] == "CNSEC-K8S-001" and f["source"]["line"] == crd.count("\n") + 5 + 13
               for f in data["findings"])
    [error] = data["errors"]  # the broken document alone, at its own line in the bundle
    assert error["line"] == crd.count("\n") + 4 and "invalid YAML" in error["message"]


def test_prometheus_rules_with_go_templates_in_their_annotations_are_assessed(tmp_path: Path) -> None:
    inv = load_inventory([str(RULE), str(REAL / "kube-prometheus" / "alertmanager-config.yaml")], workers=1)
    assert [r.kind for r in inv.k8s] == ["PrometheusRule"]
    assert inv.skipped == [] and inv.problems == [] and inv.templates_skipped == 0


def test_a_helm_template_that_does_not_load_is_skipped_and_named_in_every_format(
        tmp_path: Path, run_cli: Run) -> None:
    shutil.copy(HELM, tmp_path / "deployment.yaml")
    shutil.copy(RULE, tmp_path / "rule.yaml")
    _, out, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    data = json.loads(out)
    [skip] = data["skipped"]
    assert skip["file"].endswith("deployment.yaml") and "template" in skip["message"]
    assert data["summary"]["templates_skipped"] == 1 and data["errors"] == []
    assert "deployment.yaml" in err
    _, table, _ = run_cli("assess", str(tmp_path), "-f", "table", "--fail-on", "none")
    assert "1 inputs skipped" in table and "deployment.yaml" in table
    _, md, _ = run_cli("assess", str(tmp_path), "-f", "markdown", "--fail-on", "none")
    assert "## Skipped inputs" in md and "deployment.yaml" in md
    _, sarif, _ = run_cli("assess", str(tmp_path), "-f", "sarif", "--fail-on", "none")
    notes = json.loads(sarif)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["note"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("deployment.yaml")


@pytest.mark.parametrize("fmt", ["table", "markdown", "sarif", "json"])
def test_a_run_that_assessed_nothing_says_so_in_every_format(tmp_path: Path, run_cli: Run, fmt: str) -> None:
    shutil.copy(HELM, tmp_path / "deployment.yaml")
    code, out, err = run_cli("assess", str(tmp_path), "-f", fmt, "--fail-on", "none")
    assert "nothing was assessed" in out
    assert "deployment.yaml" in err  # the skip, on stderr as well
    assert code == 2  # every input was skipped: not a clean run


def test_docker_library_templates_and_docs_are_not_dockerfiles_and_real_ones_are(tmp_path: Path) -> None:
    shutil.copytree(REAL / "docker-library-python", tmp_path / "python")
    shutil.copy(REAL / "siege" / "Dockerfile.md", tmp_path / "python" / "Dockerfile.md")
    inv = load_inventory([str(tmp_path)], workers=1)
    assert [Path(d.file).relative_to(tmp_path).as_posix() for d in inv.dockerfiles] == [
        "python/3.13/slim-trixie/Dockerfile"]
    assert inv.problems == []


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.alpine", "Dockerfile.3.9", "Dockerfile-dev",
                                  "app.Dockerfile", "web.dockerfile", "Containerfile", "Containerfile.fedora"])
def test_real_dockerfile_names_are_dockerfiles(name: str) -> None:
    assert is_dockerfile_name(name)


@pytest.mark.parametrize("name", ["Dockerfile-linux.template", "Dockerfile-windows.template", "Dockerfile.md",
                                  "Dockerfile.txt", "Dockerfile.sh", "dockerfile.py", "dockerfile.go",
                                  "parser.go", "Dockerfile.yaml"])
def test_templates_docs_and_sources_are_not_dockerfiles(name: str) -> None:
    assert not is_dockerfile_name(name)


def test_sources_in_a_folder_named_dockerfile_are_not_read(tmp_path: Path) -> None:
    write(tmp_path / "dockerfile" / "dockerfile.go", "package dockerfile\n")
    write(tmp_path / "dockerfile" / "parser.py", "import re\n")
    write(tmp_path / "dockerfile" / "Dockerfile", "FROM alpine:3.20\nUSER app\n")
    inv = load_inventory([str(tmp_path)], workers=1)
    assert [Path(d.file).name for d in inv.dockerfiles] == ["Dockerfile"]
    assert inv.files_read == 1 and inv.problems == []
