"""Kubernetes objects declared through Terraform's ``kubernetes`` provider are checked like manifests.

The fixtures under ``data/from_terraform`` are real Terraform (see SOURCES.md); each ``twin.yaml``
is the same object written as a manifest, by hand from the Kubernetes API reference.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.assess.inventory import load_inventory
from cnsec.k8s import from_terraform
from cnsec.model.report import Report

DATA = Path(__file__).parent / "data" / "from_terraform"
TWINS = sorted(p.name for p in DATA.iterdir() if (p / "twin.yaml").is_file())


def _run(*paths: Path) -> Report:
    return assess([str(p) for p in paths], Config(), workers=1)


def _verdicts(report: Report) -> set[tuple[str, str]]:
    return {(f.check_id, f.location) for f in report.findings}


def _tf_resources(tf: Path) -> list[Any]:
    from cnsec.assess.loaders.terraform import parse_terraform

    return parse_terraform(tf.read_text(), str(tf)).resources


def _with(tmp_path: Path, case: str, old: str, new: str, extra: str = "") -> Path:
    """The case's Terraform with one attribute rewritten (and ``extra`` HCL appended)."""
    folder = tmp_path / case
    folder.mkdir()
    text = (DATA / case / "main.tf").read_text()
    assert old in text
    (folder / "main.tf").write_text(text.replace(old, new) + extra)
    return folder / "main.tf"


@pytest.mark.parametrize("case", TWINS)
def test_a_terraform_resource_gives_the_same_findings_as_its_yaml_twin(case: str) -> None:
    tf = _verdicts(_run(DATA / case / "main.tf"))
    yaml = _verdicts(_run(DATA / case / "twin.yaml"))
    assert tf == yaml
    assert tf, "every case has findings to compare"


@pytest.mark.parametrize(("case", "check_id"), [
    ("privileged_pod", "CNSEC-K8S-001"),
    ("host_network_deployment", "CNSEC-K8S-005"),
    ("cluster_admin_binding", "CNSEC-K8S-041"),
    ("pod_no_limits", "CNSEC-K8S-020"),
    ("pod_no_limits", "CNSEC-K8S-060"),
])
def test_the_insecure_setting_written_in_terraform_is_found(case: str, check_id: str) -> None:
    assert check_id in {f.check_id for f in _run(DATA / case / "main.tf").findings}


def test_declared_limits_in_terraform_are_seen_as_limits() -> None:
    ids = {f.check_id for f in _run(DATA / "deployment_limits" / "main.tf").findings}
    assert not ids & {"CNSEC-K8S-020", "CNSEC-K8S-060"}


def test_a_finding_points_at_the_attribute_line_in_the_tf_file_and_names_the_terraform_address() -> None:
    tf = DATA / "privileged_pod" / "main.tf"
    lines = tf.read_text().splitlines()
    privileged = [i + 1 for i, text in enumerate(lines) if "privileged = true" in text]
    found = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-001"]
    assert sorted(f.source.line for f in found) == privileged
    assert {f.source.file for f in found} == {str(tf)}
    assert {f.asset_id for f in found} == {"kubernetes_pod.fail"}
    [obj] = load_inventory([str(tf)], workers=1).k8s
    assert obj.extra["unknowns"].paths == []
    lines_map = from_terraform.convert(
        _tf_resources(tf), lambda f: lines).objects[0].lines
    assert [lines_map[("spec", "containers", i, "securityContext", "privileged")] for i in (0, 1)] == privileged
    report = _run(tf)
    asset = next(a for a in report.assets if a.id == "kubernetes_pod.fail")
    assert (asset.kind, asset.name) == ("Pod", "terraform-example")


def test_an_unknown_value_is_never_reported_as_insecure(tmp_path: Path) -> None:
    unknown = _with(tmp_path, "host_network_deployment", "host_network = true", "host_network = var.host_network",
                    '\nvariable "host_network" {}\n')
    report = _run(unknown)
    assert "CNSEC-K8S-005" not in {f.check_id for f in report.findings}
    assert not [f for f in report.findings if "hostNetwork" in f.location]


def test_a_variable_with_a_default_is_evaluated_before_the_checks(tmp_path: Path) -> None:
    tf = _with(tmp_path, "host_network_deployment", "host_network = true", "host_network = var.host_network",
               '\nvariable "host_network" {\n  default = true\n}\n')
    assert "CNSEC-K8S-005" in {f.check_id for f in _run(tf).findings}


def test_unknown_limits_are_not_reported_as_missing(tmp_path: Path) -> None:
    tf = _with(tmp_path, "deployment_limits", '''limits = {
              cpu    = "0.5"
              memory = "512Mi"
            }''', "limits = var.limits", '\nvariable "limits" {}\n')
    ids = {f.check_id for f in _run(tf).findings}
    assert not ids & {"CNSEC-K8S-020", "CNSEC-K8S-060"}
    # the rest of the object is still assessed
    assert ids == {f.check_id for f in _run(DATA / "deployment_limits" / "main.tf").findings}


def test_an_unknown_secret_value_is_not_a_committed_secret_but_a_literal_one_is(tmp_path: Path) -> None:
    tf = tmp_path / "secret.tf"
    tf.write_text('resource "kubernetes_secret_v1" "app" {\n  metadata {\n    name = "app"\n  }\n  data = {\n'
                  '    token = var.token\n    mode  = "debug"\n  }\n}\nvariable "token" {}\n')
    found = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-059"]
    assert [f.location for f in found] == ["stringData.mode"]
    assert found[0].source.line == 7


def test_count_instances_are_assessed_one_object_each(tmp_path: Path) -> None:
    tf = _with(tmp_path, "privileged_pod", 'resource "kubernetes_pod" "fail" {',
               'resource "kubernetes_pod" "fail" {\n  count = 2')
    assets = {f.asset_id for f in _run(tf).findings if f.check_id == "CNSEC-K8S-001"}
    assert assets == {"kubernetes_pod.fail[0]", "kubernetes_pod.fail[1]"}


def test_an_unknown_count_is_assessed_once(tmp_path: Path) -> None:
    tf = _with(tmp_path, "privileged_pod", 'resource "kubernetes_pod" "fail" {',
               'resource "kubernetes_pod" "fail" {\n  count = var.n', '\nvariable "n" {}\n')
    assert {f.asset_id for f in _run(tf).findings if f.check_id == "CNSEC-K8S-001"} == {"kubernetes_pod.fail"}


def test_a_dynamic_block_of_unknown_number_is_not_reported_as_missing(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('''resource "kubernetes_pod_v1" "app" {
  metadata {
    name      = "app"
    namespace = "shop"
  }
  spec {
    container {
      name  = "app"
      image = "registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      dynamic "resources" {
        for_each = var.resources
        content {
          limits = resources.value
        }
      }
    }
  }
}
variable "resources" {}
''')
    ids = {f.check_id for f in _run(tf).findings}
    assert not ids & {"CNSEC-K8S-020", "CNSEC-K8S-060"}


def test_a_dynamic_block_over_a_literal_list_is_expanded(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('''resource "kubernetes_pod_v1" "app" {
  metadata {
    name = "app"
  }
  spec {
    dynamic "container" {
      for_each = ["a", "b"]
      content {
        name  = container.value
        image = "nginx:1.25"
        security_context {
          privileged = true
        }
      }
    }
  }
}
''')
    found = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-001"]
    assert sorted(f.location for f in found) == ["spec.containers[0].securityContext.privileged",
                                                 "spec.containers[1].securityContext.privileged"]
    assert {f.source.line for f in found} == {12}  # the attribute inside the content block


def test_a_local_chart_in_helm_release_becomes_a_render_request_and_is_reported_skipped(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "shop"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    tf = tmp_path / "main.tf"
    tf.write_text('''resource "helm_release" "shop" {
  name      = "shop"
  namespace = "shop"
  chart     = "${path.module}/charts/shop"
  values = [
    file("${path.module}/values.yaml"),
    <<-EOT
    image:
      tag: "1.2.3"
    EOT
  ]
  set {
    name  = "service.type"
    value = "LoadBalancer"
  }
  set_sensitive {
    name  = "db.password"
    value = var.db_password
  }
}
variable "db_password" {}
''')
    inv = load_inventory([str(tmp_path)], workers=1)
    [release] = inv.helm_releases
    assert release.chart_path == str(chart)
    assert (release.name, release.namespace, release.address) == ("shop", "shop", "helm_release.shop")
    assert release.values[0] == (str(tmp_path / "values.yaml"), None)
    assert release.values[1][0] == str(tf) and "tag: \"1.2.3\"" in release.values[1][1]
    assert [(s.name, s.value, s.sensitive, s.known) for s in release.sets] == [
        ("service.type", "LoadBalancer", False, True), ("db.password", "${var.db_password}", True, False)]
    [skipped] = [s for s in inv.skipped if "helm_release" in s.message]
    assert f"helm_release of chart {chart}: not rendered: rendering is off here" in skipped.message
    assert (skipped.file, skipped.line) == (str(tf), 1)
    assert not inv.terraform  # not also a Terraform asset


def test_a_remote_chart_is_reported_skipped_with_its_repository(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "helm_release" "ingress" {\n  name       = "ingress"\n'
                  '  repository = "https://kubernetes.github.io/ingress-nginx"\n  chart      = "ingress-nginx"\n}\n')
    inv = load_inventory([str(tf)], workers=1)
    assert [h.chart_path for h in inv.helm_releases] == [None]
    [skipped] = inv.skipped
    assert "helm_release rendering: chart ingress-nginx from repository https://kubernetes.github.io/" \
           "ingress-nginx is remote" in skipped.message


def test_unsupported_kubernetes_types_are_reported_as_skipped_never_silently(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "kubernetes_labels" "x" {\n  api_version = "v1"\n  kind = "ConfigMap"\n'
                  '  metadata {\n    name = "c"\n  }\n  labels = {\n    a = "b"\n  }\n}\n'
                  'resource "kubernetes_flux_thing" "y" {\n  spec {}\n}\n')
    messages = [s.message for s in load_inventory([str(tf)], workers=1).skipped]
    assert messages == ["kubernetes_labels.x: kubernetes_labels changes an object made elsewhere; not assessed",
                        "kubernetes_flux_thing.y: kubernetes_flux_thing is not converted to a Kubernetes object "
                        "yet; not assessed"]


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "table"])
def test_a_skipped_helm_release_shows_in_every_output_format(fmt: str, tmp_path: Path,
                                                             run_cli: Any) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "helm_release" "ingress" {\n  name       = "ingress"\n'
                  '  repository = "https://charts.example"\n  chart      = "ingress-nginx"\n}\n'
                  'resource "kubernetes_namespace_v1" "ingress" {\n  metadata {\n    name = "ingress"\n  }\n}\n')
    code, out, err = run_cli("assess", str(tf), "-f", fmt, "--fail-on", "none")
    assert code == 0, err
    assert "helm_release rendering: chart ingress-nginx" in " ".join(out.split())  # the table wraps


def test_kubernetes_manifest_is_taken_as_the_object_it_spells_out(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('''resource "kubernetes_manifest" "pod" {
  manifest = {
    apiVersion = "v1"
    kind       = "Pod"
    metadata = {
      name      = "debug"
      namespace = "ops"
    }
    spec = {
      hostPID = true
      containers = [
        {
          name  = "shell"
          image = "busybox:1.36"
        }
      ]
    }
  }
}
''')
    found = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-003"]
    assert [(f.asset_id, f.source.line) for f in found] == [("kubernetes_manifest.pod", 10)]


def test_the_schema_mapping_names_fields_as_the_api_does() -> None:
    class Block:
        type = "kubernetes_service_v1"
        name = "web"
        file = "x.tf"
        line = 1
        end_line = 1
        unknown_blocks: frozenset[str] = frozenset()
        address = "kubernetes_service_v1.web"
        attrs: dict[str, Any] = {"depends_on": ["${kubernetes_namespace.x}"], "timeouts": [{"create": "1m"}],
                                 "wait_for_load_balancer": True, "metadata": [{"name": "web"}], "spec": [{
            "type": "LoadBalancer", "external_ips": ["1.2.3.4"], "load_balancer_source_ranges": ["0.0.0.0/0"],
            "selector": {"app_name": "web"}, "port": [{"port": "80", "target_port": "8080"}]}]}

    [obj] = from_terraform.convert([Block()], lambda f: []).objects
    assert json.loads(json.dumps(obj.doc)) == {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"], "loadBalancerSourceRanges": ["0.0.0.0/0"],
                 "selector": {"app_name": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def test_the_conversion_does_not_import_the_assess_pillar() -> None:
    code = ("import sys, cnsec.k8s.from_terraform; "
            "sys.exit(sorted(m for m in sys.modules if m.startswith('cnsec.assess')) != [])")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_provider_resource_type_documented_as_an_object_is_converted() -> None:
    """The provider's own resource list (its docs, at the commit in SOURCES.md): each type is either
    converted, or a patch of an object made elsewhere."""
    documented = (DATA / "provider-resource-types.txt").read_text().split()
    left = [t for t in documented if t not in from_terraform.KINDS and t != "kubernetes_manifest"
            and t not in from_terraform.PATCH_TYPES]
    assert left == ["kubernetes_validating_admission_policy"]


def test_a_copied_module_tree_keeps_module_addresses(tmp_path: Path) -> None:
    module = tmp_path / "modules" / "rbac"
    module.mkdir(parents=True)
    shutil.copy(DATA / "cluster_admin_binding" / "main.tf", module / "main.tf")
    (tmp_path / "main.tf").write_text('module "rbac" {\n  source = "./modules/rbac"\n}\n')
    found = [f for f in _run(tmp_path / "main.tf").findings if f.check_id == "CNSEC-K8S-041"]
    assert {f.asset_id for f in found} == {"module.rbac.kubernetes_cluster_role_binding_v1.example"}
    assert {f.source.file for f in found} == {str(module / "main.tf")}


def test_a_secret_in_an_env_var_is_found_though_the_secret_name_is_another_resource_attribute() -> None:
    """The env var's name and the Secret's name are unknown (a variable without default, another
    resource's attribute): names do not decide the verdict, so the finding stands."""
    found = [f for f in _run(DATA / "secret_env_reference" / "pods.tf").findings if f.check_id == "CNSEC-K8S-028"]
    assert [f.asset_id for f in found] == ["kubernetes_pod_v1.this"]


def test_objects_parsed_in_worker_processes_keep_their_lines_and_unknown_values(tmp_path: Path) -> None:
    """Parts of the inventory travel back from the parsing processes pickled: the objects' lines and
    unknown values must survive the trip (enough Terraform files to split the work)."""
    for i in range(8):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        _with(folder, "host_network_deployment", "host_network = true",
              "host_network = var.host_network\n        host_pid = true", '\nvariable "host_network" {}\n')
    one = assess([str(tmp_path)], Config(), workers=1)
    two = assess([str(tmp_path)], Config(), workers=2)
    assert sorted((f.id, f.source.file, f.source.line) for f in one.findings) == \
        sorted((f.id, f.source.file, f.source.line) for f in two.findings)
    ids = {f.check_id for f in two.findings}
    assert "CNSEC-K8S-003" in ids and "CNSEC-K8S-005" not in ids


def test_the_fix_of_a_terraform_declared_object_is_the_change_to_its_block_not_a_kubectl_patch() -> None:
    [finding] = [f for f in _run(DATA / "privileged_pod" / "main.tf").findings
                 if f.check_id == "CNSEC-K8S-001" and f.location.startswith("spec.containers[1]")]
    assert finding.patch is None
    assert finding.fix == ("# in kubernetes_pod.fail:\n"
                           "spec {\n"
                           "  container {  # container block #2\n"
                           "    security_context {\n"
                           "      privileged = false\n"
                           "    }\n"
                           "  }\n"
                           "}")
    limits = [f for f in _run(DATA / "pod_no_limits" / "main.tf").findings if f.check_id == "CNSEC-K8S-020"]
    assert limits and 'limits = { memory = "256Mi" }' in (limits[0].fix or "")


def test_the_fix_of_a_kubernetes_manifest_stays_a_patch_of_the_object_it_spells_out() -> None:
    assert from_terraform.hcl_fix([{"op": "replace", "path": "/spec/hostPID", "value": False}],
                                  "module.a.kubernetes_manifest.pod[0]") is None


def test_a_kubernetes_data_source_is_not_an_object_of_this_configuration(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('data "kubernetes_service_v1" "ingress" {\n  metadata {\n    name = "ingress"\n  }\n}\n'
                  'resource "kubernetes_namespace_v1" "app" {\n  metadata {\n    name = "app"\n  }\n}\n')
    inv = load_inventory([str(tf)], workers=1)
    assert [(r.kind, r.extra["terraform"]) for r in inv.k8s] == [("Namespace", "kubernetes_namespace_v1.app")]
    assert not inv.skipped and not inv.terraform


def test_a_chart_that_is_an_expression_is_reported_as_such(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('resource "helm_release" "app" {\n  name  = "app"\n  chart = var.chart\n}\nvariable "chart" {}\n')
    [skipped] = load_inventory([str(tf)], workers=1).skipped
    assert "helm_release rendering: chart ${var.chart} is an expression Terraform computes" in skipped.message


def _workload_identity(tmp_path: Path, call: str) -> Path:
    """Google's workload-identity module (a Kubernetes ServiceAccount through ``count``), called from a
    root module as a user would, with ``call`` as the module block's arguments."""
    module = tmp_path / "modules" / "workload-identity"
    shutil.copytree(DATA / "workload_identity", module)
    root = tmp_path / "main.tf"
    root.write_text(f'module "wi" {{\n  source     = "./modules/workload-identity"\n  project_id = "shop"\n{call}}}\n')
    return root


def test_a_community_module_service_account_is_converted_with_the_callers_inputs(tmp_path: Path) -> None:
    root = _workload_identity(tmp_path, '  name = "default"\n  namespace = "payments"\n'
                                        '  automount_service_account_token = true\n')
    inv = load_inventory([str(root)], workers=1)
    [sa] = [r for r in inv.k8s if r.extra["terraform"].startswith("module.wi.")]
    assert (sa.kind, sa.name, sa.namespace) == ("ServiceAccount", "default", "payments")
    assert sa.extra["terraform"] == "module.wi.kubernetes_service_account_v1.main[0]"
    assert sa.doc["automountServiceAccountToken"] is True
    found = [f for f in _run(root).findings if f.check_id == "CNSEC-K8S-062"
             and f.asset_id == "module.wi.kubernetes_service_account_v1.main[0]"]
    assert [f.source.line for f in found] == [
        1 + (DATA / "workload_identity" / "main.tf").read_text().splitlines().index(
            "  automount_service_account_token = var.automount_service_account_token")]


def test_the_module_defaults_keep_the_service_account_token_unmounted(tmp_path: Path) -> None:
    root = _workload_identity(tmp_path, '  name = "default"\n')
    [sa] = [r for r in load_inventory([str(root)], workers=1).k8s if r.extra["terraform"].startswith("module.wi.")]
    assert sa.doc["automountServiceAccountToken"] is False and sa.namespace == "default"
    assert not [f for f in _run(root).findings if f.check_id == "CNSEC-K8S-062"
                and f.asset_id.startswith("module.wi.")]


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "table"])
def test_a_secret_value_in_terraform_stays_out_of_every_report(fmt: str, run_cli: Any) -> None:
    tf = DATA / "generated" / "secret_values.tf"
    code, out, err = run_cli("assess", str(tf), "-f", fmt, "--fail-on", "none")
    assert code == 0, err
    assert "Zq8-generated" not in out + err
    if fmt == "json":
        ids = {(f["check_id"], f["source"]["line"]) for f in json.loads(out)["findings"]}
        assert {("CNSEC-K8S-059", 7), ("CNSEC-K8S-029", 24)} <= ids  # the Secret's value, the env var's


def test_kubernetes_manifest_with_yaml_in_a_heredoc_is_checked_with_the_tf_lines(tmp_path: Path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text('''variable "ns" {}
resource "kubernetes_manifest" "crb" {
  manifest = yamldecode(<<-EOT
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata:
      name: ops-admin
      namespace: ${var.ns}
    roleRef:
      apiGroup: rbac.authorization.k8s.io
      kind: ClusterRole
      name: cluster-admin
    subjects:
      - kind: Group
        name: ops
        apiGroup: rbac.authorization.k8s.io
  EOT
  )
}
''')
    found = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-041"]
    assert [(f.asset_id, f.location, f.source.line) for f in found] == [("kubernetes_manifest.crb", "subjects[0]", 14)]
    [obj] = load_inventory([str(tf)], workers=1).k8s
    assert obj.namespace == "${var.ns}" and obj.extra["unknowns"].paths == [("metadata", "namespace")]


def test_a_waiver_comment_in_the_resource_block_suppresses_its_finding(tmp_path: Path) -> None:
    tf = _with(tmp_path, "host_network_deployment", "        host_network = true",
               "        # cnsec:ignore=CNSEC-K8S-005 the ingress controller needs the node's ports\n"
               "        host_network = true")
    [finding] = [f for f in _run(tf).findings if f.check_id == "CNSEC-K8S-005"]
    assert finding.suppressed


CHART_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: "shop/api:{{ .Values.image.tag }}"
          env:
            - name: DB_PASSWORD_SET
              value: {{ ternary "yes" "no" (not (empty .Values.db.password)) | quote }}
          securityContext:
            privileged: {{ .Values.debug.privileged }}
"""


def _release_tf(tmp_path: Path, password: str) -> Path:
    chart = tmp_path / "charts" / "shop"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image:\n  tag: latest\ndebug:\n  privileged: false\ndb:\n  password: ''\n")
    (chart / "templates" / "deployment.yaml").write_text(CHART_DEPLOYMENT)
    (tmp_path / "prod.yaml").write_text("image:\n  tag: '1.2.3'\n")
    tf = tmp_path / "main.tf"
    tf.write_text(f'''resource "helm_release" "shop" {{
  name      = "shop"
  namespace = "shop"
  chart     = "./charts/shop"
  values    = [file("${{path.module}}/prod.yaml")]
  set {{
    name  = "debug.privileged"
    value = "true"
  }}
  set_sensitive {{
    name  = "db.password"
    value = {password}
  }}
}}
variable "db_password" {{}}
''')
    return tf


def test_a_local_helm_release_is_rendered_with_its_values_and_sets_and_its_secret_stays_out(
        tmp_path: Path, run_cli: Any) -> None:
    from cnsec.k8s.render import tools

    if tools.find_tool("helm") is None:
        pytest.skip("helm is not installed (scripts/install-test-deps.sh installs it)")
    secret = "Zq8-example-only-Lw2pX9rT4v"
    tf = _release_tf(tmp_path, f'"{secret}"')
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    assert code == 0, err
    report = json.loads(out)
    [priv] = [f for f in report["findings"] if f["check_id"] == "CNSEC-K8S-001"]
    assert priv["asset_id"] == "Deployment/shop/shop-api"  # release name and namespace from the release
    assert priv["source"]["file"].endswith("charts/shop/templates/deployment.yaml")
    assert priv["source"]["line"] == 19  # the privileged key in the template: the set reached the chart
    assert not any("helm_release" in s["message"] for s in report["skipped"])
    # rendered once, as the release installs it: not a second time with the chart's defaults
    assert report["summary"]["rendered"] == 1
    assert {a["id"] for a in report["assets"] if a["kind"] == "Deployment"} == {"Deployment/shop/shop-api"}
    assert secret not in out and secret not in err and tf.is_file()


def test_a_helm_release_with_a_value_terraform_computes_is_not_rendered_with_a_guess(
        tmp_path: Path, run_cli: Any) -> None:
    _release_tf(tmp_path, "var.db_password")
    _, out, _ = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    report = json.loads(out)
    assert not [f for f in report["findings"] if f["check_id"] == "CNSEC-K8S-001"]
    [skipped] = [s for s in report["skipped"] if "helm_release" in s["message"]]
    assert "values Terraform computes at plan time (db.password)" in skipped["message"]


def test_the_charts_helm_releases_install_are_found_in_the_text_before_parsing(tmp_path: Path) -> None:
    from cnsec.k8s.from_terraform import released_charts

    (tmp_path / "charts" / "a").mkdir(parents=True)
    text = ('resource "helm_release" "a" {\n  chart = "${path.module}/charts/a"\n}\n'
            'resource "helm_release" "b" {\n  repository = "https://x"\n  chart = "b"\n}\n'
            'resource "helm_release" "c" {\n  chart = var.chart\n}\n')
    assert released_charts(text, str(tmp_path / "main.tf")) == {str(tmp_path / "charts" / "a")}
