"""The Kubernetes layer under the pillars: what a Kubernetes object is and how it is read.

Assess, iam and respond all read Kubernetes; they read it here, so an object, its pod spec and its RBAC
meaning are one concept in one place, and a finding anywhere points to the same file:line:

* :mod:`cnsec.k8s.resource` — :class:`~cnsec.k8s.resource.K8sResource`: kind, API version, name,
  namespace, the document and its source location, with line-aware field access;
* :mod:`cnsec.k8s.manifests` — YAML/JSON manifests and ``kubectl get -o json`` dumps (``kind: List``)
  parsed into resources; Go templates that do not load are skipped and said so;
* :mod:`cnsec.k8s.workload` — pod-spec access: which kinds carry a pod spec and where, containers and
  the effective security context;
* :mod:`cnsec.k8s.rbac` — the RBAC authorizer's semantics (rules, requests, ``RuleAllows``), role and
  binding resolution with aggregation, ``can`` / ``who-can``;
* :mod:`cnsec.k8s.rbac_risks` — the catalog of risky RBAC grants, shared by ``iam audit`` and the
  assess RBAC checks;
* :mod:`cnsec.k8s.from_terraform` — ``kubernetes_*`` resources of Terraform's Kubernetes provider as the
  objects they declare (lines in the ``.tf``), and ``helm_release`` blocks as render requests;
* :mod:`cnsec.k8s.render` — Helm charts (``helm template``) and Kustomize overlays (``kubectl
  kustomize``) rendered to resources whose findings point to the template, base or patch line;
* :mod:`cnsec.k8s.live` — the read-only reader of a live cluster (secrets as metadata only).

This package is part of the ground floor: it imports the model and the helpers (``cnsec.model``,
``cnsec.yamlsafe``, ...) and no pillar (tests/test_architecture.py holds it to that). What a pillar
makes of Kubernetes stays in the pillar: checks, the mitigation plan's patches (``cnsec.assess``), the
RBAC audit and its report (``cnsec.iam``), the write calls of the response actions (``cnsec.respond.kube``).
"""
