"""The pipeline end to end: ids, isolation of failures, assets, risks and the plan."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cnsec.assess.checks import base
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.severity import Severity
from tests.assess.conftest import write

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
  labels: {app: debug}
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""


def test_finding_id_survives_lines_moving(tmp_path: Path) -> None:
    path = write(tmp_path / "pod.yaml", POD)
    first = assess([str(path)], Config(), only={"CNSEC-K8S-001"}).findings[0]
    write(tmp_path / "pod.yaml", "# a comment\n# another\n" + POD)
    second = assess([str(path)], Config(), only={"CNSEC-K8S-001"}).findings[0]
    assert first.id == second.id
    assert second.source.line == (first.source.line or 0) + 2


def _register(monkeypatch: pytest.MonkeyPatch, check_id: str,
              fn: Callable[[object, Any], Iterator[base.Hit]]) -> None:
    """Add a low-severity Kubernetes check running ``fn`` to the registry, for this test only."""
    check = base.Check(id=check_id, title=check_id, severity=Severity.LOW, target="k8s",
                       threats=("container-escape",), control="CTRL-NO-PRIVILEGED", remediation="-", fn=fn)
    monkeypatch.setattr(base, "_REGISTRY", {**base.registry(), check_id: check})


def test_a_check_that_raises_is_reported_and_the_run_goes_on(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(item: object, ctx: object) -> Iterator[base.Hit]:
        raise KeyError("surprise")

    _register(monkeypatch, "CNSEC-K8S-999", boom)
    path = write(tmp_path / "pod.yaml", POD)
    report = assess([str(path)], Config(), only={"CNSEC-K8S-001", "CNSEC-K8S-999"})
    assert any("CNSEC-K8S-999 failed on Pod/ops/debug" in e.message for e in report.errors)
    assert [f.check_id for f in report.findings] == ["CNSEC-K8S-001"]


def test_a_check_reading_the_whole_inventory_sees_all_of_it_even_if_it_catches_exceptions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the parser a check sees only its part; asking for more sends it to the whole inventory,
    and its own ``except Exception`` cannot turn that into a silent partial answer."""
    def pods_in_inventory(item: object, ctx: Any) -> Iterator[base.Hit]:
        try:
            count = sum(1 for r in ctx.inventory.k8s if r.kind == "Pod")
        except Exception:
            count = -1
        yield base.Hit(f"{count} pods", location="count")

    _register(monkeypatch, "CNSEC-K8S-998", pods_in_inventory)
    for i in range(320):
        write(tmp_path / f"m{i:03}.yaml", POD.replace("name: debug", f"name: debug{i}"))
    report = assess([str(tmp_path)], Config(), only={"CNSEC-K8S-998"}, workers=2)
    assert {f.message for f in report.findings} == {"320 pods"}


def test_unknown_kinds_and_crds_become_other_assets(tmp_path: Path) -> None:
    crd = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: ops\nspec: {a: 1}\n"
    path = write(tmp_path / "crd.yaml", crd)
    report = assess([str(path)], Config())
    assert [(a.id, str(a.type)) for a in report.assets] == [("Widget/ops/w", "other")]
    assert not report.errors


def test_empty_security_context_does_not_break_any_check(tmp_path: Path) -> None:
    cron = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          securityContext:
          containers:
            - name: c
              image: busybox
              securityContext:
"""
    report = assess([str(write(tmp_path / "cron.yaml", cron))], Config())
    assert not [e for e in report.errors if "failed on" in e.message]


@pytest.mark.parametrize(("service_type", "expected"), [("LoadBalancer", "internet"), ("NodePort", "internet"),
                                                        ("ClusterIP", "cluster")])
def test_exposure_follows_services_that_select_the_workload(tmp_path: Path, service_type: str,
                                                            expected: str) -> None:
    svc = f"apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: ops}}\nspec:\n  type: {service_type}\n" \
          "  selector: {app: debug}\n"
    write(tmp_path / "app.yaml", POD + "---\n" + svc)
    report = assess([str(tmp_path)], Config())
    pod = next(a for a in report.assets if a.id == "Pod/ops/debug")
    assert str(pod.exposure) == expected


def test_ingress_makes_the_backend_workload_internet_exposed(tmp_path: Path) -> None:
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ops}\nspec:\n  selector: {app: debug}\n"
    ing = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: ops}
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: s, port: {number: 80}}}
"""
    write(tmp_path / "app.yaml", "---\n".join([POD, svc, ing]))
    report = assess([str(tmp_path)], Config())
    assert next(a for a in report.assets if a.id == "Pod/ops/debug").exposure == "internet"


def test_risk_is_higher_for_an_exposed_critical_asset_and_explains_itself(tmp_path: Path) -> None:
    lb = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ops}\nspec:\n  type: LoadBalancer\n" \
         "  selector: {app: debug}\n"
    write(tmp_path / "a" / "pod.yaml", POD)
    write(tmp_path / "b" / "pod.yaml", POD.replace("labels: {app: debug}",
                                                   "labels: {app: debug, cnsec.io/criticality: high}")
          + "---\n" + lb)
    quiet = assess([str(tmp_path / "a")], Config(), only={"CNSEC-K8S-001"}).risks[0]
    loud = assess([str(tmp_path / "b")], Config(), only={"CNSEC-K8S-001"}).risks[0]
    assert loud.score > quiet.score
    assert loud.score == 90 and loud.level == "critical"
    assert "exposure internet" in loud.explanation and loud.explanation.endswith("= 90")


def test_plan_ranks_controls_by_risk_removed_and_carries_a_patch(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", POD)
    write(tmp_path / "Dockerfile", "FROM python:3.12-slim\nCMD [\"python\"]\n")
    report = assess([str(tmp_path)], Config(), only={"CNSEC-K8S-001", "CNSEC-DKR-001"})
    assert [p.control_id for p in report.plan] == ["CTRL-NO-PRIVILEGED", "CTRL-NON-ROOT"]
    assert report.plan[0].risk_reduction >= report.plan[1].risk_reduction
    patch = report.plan[0].patches[0]["patch"]
    assert patch == [{"op": "replace", "path": "/spec/containers/0/securityContext/privileged", "value": False}]


def test_baseline_reports_only_new_findings(tmp_path: Path,
                                            run_cli: Callable[..., tuple[int, str, str]]) -> None:
    write(tmp_path / "in" / "pod.yaml", POD)
    baseline = tmp_path / "baseline.json"
    run_cli("assess", str(tmp_path / "in"), "-f", "json", "--write-baseline", str(baseline), "--fail-on", "none")
    write(tmp_path / "in" / "pod2.yaml", POD.replace("name: debug", "name: debug2"))
    code, out, _ = run_cli("assess", str(tmp_path / "in"), "-f", "json", "--baseline", str(baseline),
                           "--checks", "CNSEC-K8S-001")
    data: dict[str, Any] = json.loads(out)
    assert [f["asset_id"] for f in data["findings"]] == ["Pod/ops/debug2"]
    assert code == 1
    assert "debug" in baseline.read_text() and "privileged" not in baseline.read_text()


EXPOSED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
"""


def _report_view(report: Any) -> tuple[Any, ...]:
    return ([(f.id, f.asset_id, f.source.file, f.source.line, f.message) for f in report.findings],
            [(r.asset_id, r.threat_id, r.finding_ids, r.score) for r in report.risks],
            [str(p) for p in report.errors], [a.id for a in report.assets])


def test_checks_beside_the_parser_give_the_report_of_one_process_on_the_whole_inventory(
        tmp_path: Path) -> None:
    """Per-resource checks run in the process that parsed each part; checks that need the whole
    inventory (exposure from a Service in another file, service accounts) are deferred to it, and
    asset ids of same-named resources in different parts come out as in one pass."""
    from cnsec.assess.engine import assess, assess_inventory
    from cnsec.assess.inventory import load_inventory

    for i in range(320):
        write(tmp_path / f"m{i:03}.yaml", POD.replace("name: debug", f"name: debug{i % 300}"))
    deployment, service = EXPOSED.split("---\n")
    write(tmp_path / "a-web.yaml", deployment)
    write(tmp_path / "zz-web-again.yaml", deployment)  # the same id twice: the second is '#2'
    write(tmp_path / "zz-svc.yaml", service)
    for name in ("b-tls.yaml", "y-tls.yaml"):  # a per-file check (weak crypto) in both parts
        write(tmp_path / name, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tls, namespace: shop}\n"
                               "data:\n  ssl_ciphers: RC4-SHA:DES-CBC3-SHA\n")
    config = Config()
    one = assess([str(tmp_path)], config, workers=1)
    two = assess([str(tmp_path)], config, workers=2)
    whole = assess_inventory(load_inventory([str(tmp_path)], workers=1), config)
    assert _report_view(one) == _report_view(two) == _report_view(whole)
    ids = {f.asset_id for f in two.findings}
    assert {"Deployment/shop/web", "Deployment/shop/web#2", "Pod/ops/debug1#2"} <= ids
    exposed = [f for f in two.findings if f.check_id == "CNSEC-K8S-036"]
    assert {f.asset_id for f in exposed} == {"Deployment/shop/web", "Deployment/shop/web#2"}
    weak = [f for f in two.findings if f.check_id == "CNSEC-CFG-001"]
    assert {f.asset_id for f in weak} == {"ConfigMap/shop/tls", "ConfigMap/shop/tls#2"}


def test_parallel_loading_gives_the_same_inventory_as_one_process(tmp_path: Path) -> None:
    from cnsec.assess.inventory import load_inventory

    for i in range(320):
        write(tmp_path / f"m{i:03}.yaml", POD.replace("name: debug", f"name: debug{i}"))
    for i in range(10):
        write(tmp_path / f"t{i}.tf", f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n')
    write(tmp_path / "zz-bad.yaml", "a: [\n")
    one = load_inventory([str(tmp_path)], workers=1)
    two = load_inventory([str(tmp_path)], workers=2)
    assert [(r.file, r.line, r.name) for r in one.k8s] == [(r.file, r.line, r.name) for r in two.k8s]
    assert [r.address for r in one.terraform] == [r.address for r in two.terraform]
    assert [str(p) for p in one.problems] == [str(p) for p in two.problems]
    assert list(one.texts) == list(two.texts)


def test_the_workload_the_engine_shares_between_checks_is_forgotten_after_the_run(tmp_path: Path) -> None:
    from cnsec.assess.engine import assess_inventory
    from cnsec.assess.inventory import load_inventory
    from cnsec.k8s.workload import as_workload

    write(tmp_path / "pod.yaml", POD)
    inv = load_inventory([str(tmp_path)])
    assess_inventory(inv, Config())
    pod = inv.k8s[0]
    pod.doc["spec"]["containers"].append({"name": "sidecar", "image": "envoy"})
    w = as_workload(pod)
    assert w is not None and [c.name for c in w.containers] == ["shell", "sidecar"]


def test_after_a_batch_the_collector_is_back_and_does_not_walk_what_the_batch_left() -> None:
    import gc

    from cnsec.assess.engine import batch_gc

    assert gc.isenabled()
    with batch_gc():
        assert not gc.isenabled()
        kept = [[i] for i in range(50_000)]
    try:
        assert gc.isenabled()
        assert gc.get_count()[0] < 1000  # the young generation is not left holding the batch
    finally:
        gc.unfreeze()
    assert len(kept) == 50_000


def test_weak_crypto_is_found_on_its_line_in_a_file_with_crlf_line_breaks(tmp_path: Path) -> None:
    text = ("apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: tls, namespace: shop}\r\n"
            "data:\r\n  ssl_ciphers: RC4-SHA\r\n")
    (tmp_path / "tls.yaml").write_bytes(text.encode())
    report = assess([str(tmp_path)], Config())
    weak = [f for f in report.findings if f.check_id == "CNSEC-CFG-001"]
    assert weak and {f.source.line for f in weak} == {5}
