"""Pod-spec access (cnsec.k8s.workload): where each kind keeps its pod spec, its containers, and the
security context Kubernetes applies."""

from __future__ import annotations

from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.workload import as_workload, pod_spec_path

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: ops}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          securityContext: {runAsNonRoot: true, runAsUser: 1000}
          initContainers:
          - {name: init, image: busybox, securityContext: {runAsUser: 0}}
          containers:
          - {name: backup, image: restic}
"""


def test_a_cronjob_keeps_its_pod_spec_under_its_job_template() -> None:
    [res] = parse_k8s(CRONJOB, "cron.yaml").resources
    assert pod_spec_path(res) == ("spec", "jobTemplate", "spec", "template", "spec")
    w = as_workload(res)
    assert w is not None
    assert [(c.name, c.init, c.path) for c in w.containers] == [
        ("init", True, ("spec", "jobTemplate", "spec", "template", "spec", "initContainers", 0)),
        ("backup", False, ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0))]


def test_the_container_security_context_wins_over_the_pods() -> None:
    [res] = parse_k8s(CRONJOB, "cron.yaml").resources
    w = as_workload(res)
    assert w is not None
    init, backup = w.containers
    assert w.effective(init, "runAsUser") == 0 and w.effective(backup, "runAsUser") == 1000
    assert w.effective(backup, "runAsNonRoot") is True and w.effective(backup, "privileged") is None


def test_kinds_without_a_pod_spec_are_no_workload() -> None:
    [svc] = parse_k8s("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n", "s.yaml").resources
    assert pod_spec_path(svc) is None and as_workload(svc) is None
