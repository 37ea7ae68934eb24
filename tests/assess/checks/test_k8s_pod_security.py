"""Pod and container security checks (CNSEC-K8S-002 … 019): patches, lines, precedence, odd input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cnsec.assess.checks.base import registry
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding

FIXTURES = Path(__file__).parent / "fixtures"
MINE = [f"CNSEC-K8S-{n:03d}" for n in range(2, 20)]


def _run(tmp_path: Path, text: str, check_id: str) -> list[Finding]:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    report = assess([str(path)], Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if f.check_id == check_id]


def _apply(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """A small RFC 6902 applier (add, remove, replace): enough to prove our patches fix findings."""
    doc = copy.deepcopy(doc)
    for op in patch:
        steps = [s.replace("~1", "/").replace("~0", "~") for s in op["path"].split("/")[1:]]
        parent = doc
        for step in steps[:-1]:
            parent = parent[int(step)] if isinstance(parent, list) else parent[step]
        last = steps[-1]
        if isinstance(parent, list):
            if op["op"] == "add":
                parent.insert(len(parent) if last == "-" else int(last), op["value"])
            elif op["op"] == "remove":
                del parent[int(last)]
            else:
                parent[int(last)] = op["value"]
        else:
            if op["op"] == "remove":
                del parent[last]
            else:
                assert op["op"] == "add" or last in parent, f"replace of a missing key: {op}"
                parent[last] = op["value"]
    return doc


def _fail_fixtures() -> list[tuple[str, Path]]:
    return [(cid, p) for cid in MINE for p in sorted((FIXTURES / cid).glob("fail*"))]


@pytest.mark.parametrize(("check_id", "fixture"), _fail_fixtures(),
                         ids=[f"{c}/{p.name}" for c, p in _fail_fixtures()])
def test_each_patch_fixes_its_finding(tmp_path: Path, check_id: str, fixture: Path) -> None:
    docs = [d for d in yaml.safe_load_all(fixture.read_text()) if d]
    findings = _run(tmp_path, fixture.read_text(), check_id)
    assert findings
    for f in findings:
        assert f.patch, f"{check_id}: finding without a patch: {f.message}"
        kind, _, name = f.asset_id.split("/", 2)
        patched = [_apply(d, f.patch) if (d["kind"], d["metadata"]["name"]) == (kind, name) else d
                   for d in docs]
        after = _run(tmp_path, yaml.safe_dump_all(patched), check_id)
        assert f.id not in {g.id for g in after}, f"patch did not fix: {f.message} {f.patch}"


def test_my_checks_name_known_peer_ids_only() -> None:
    for cid in MINE:
        eq = registry()[cid].equivalents
        assert set(eq) <= {"checkov", "kubescape"}, cid
        assert all(i.startswith("CKV_K8S_") for i in eq.get("checkov", ())), cid
        assert all(i.startswith("C-0") for i in eq.get("kubescape", ())), cid


def test_missing_security_context_gets_one_add_operation(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-002" / "fail.yaml").read_text()
    [f] = _run(tmp_path, text, "CNSEC-K8S-002")
    assert f.patch == [{"op": "add", "path": "/spec/template/spec/containers/0/securityContext",
                        "value": {"allowPrivilegeEscalation": False}}]


def test_finding_points_at_the_offending_line(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-006" / "fail-container-overrides-pod.yaml").read_text()
    [f] = _run(tmp_path, text, "CNSEC-K8S-006")
    assert "bad" in f.message
    assert text.splitlines()[f.source.line - 1].strip() == "runAsUser: 0"


def test_run_as_root_patch_sets_non_root_and_a_high_uid(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-006" / "fail.yaml").read_text()
    [f] = _run(tmp_path, text, "CNSEC-K8S-006")
    assert f.patch == [{"op": "add", "path": "/spec/template/spec/containers/0/securityContext",
                        "value": {"runAsNonRoot": True, "runAsUser": 10001}}]


def test_pod_level_run_as_non_root_covers_every_container(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-006" / "pass.yaml").read_text()
    assert _run(tmp_path, text, "CNSEC-K8S-006") == []


def test_pod_low_uid_is_reported_once_at_the_pod_naming_the_containers(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsUser: 1000}
  containers:
    - {name: a, image: busybox:1.36}
    - {name: b, image: busybox:1.36}
    - {name: c, image: busybox:1.36, securityContext: {runAsUser: 20000}}
"""
    [f] = _run(tmp_path, text, "CNSEC-K8S-007")
    assert f.location == "spec.securityContext.runAsUser"
    assert "UID 1000" in f.message and "'a', 'b'" in f.message and "'c'" not in f.message


def test_missing_seccomp_is_one_finding_per_pod_naming_the_containers(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: busybox:1.36}
    - {name: b, image: busybox:1.36}
"""
    [f] = _run(tmp_path, text, "CNSEC-K8S-012")
    assert "'a', 'b'" in f.message
    assert f.patch == [{"op": "add", "path": "/spec/securityContext",
                        "value": {"seccompProfile": {"type": "RuntimeDefault"}}}]


def test_container_unconfined_seccomp_is_not_hidden_by_the_pod_profile(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-012" / "fail-container-unconfined.yaml").read_text()
    [f] = _run(tmp_path, text, "CNSEC-K8S-012")
    assert "'debug'" in f.message and f.location.endswith("containers[1].securityContext.seccompProfile.type")


def test_each_dangerous_capability_is_its_own_finding(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: busybox:1.36
      securityContext:
        capabilities:
          add: [NET_BIND_SERVICE, SYS_PTRACE, CAP_SYS_MODULE]
"""
    found = _run(tmp_path, text, "CNSEC-K8S-008")
    assert sorted(f.location.rsplit("[", 1)[1] for f in found) == ["1]", "2]"]


def test_runtime_socket_patch_removes_the_mount_and_the_volume(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-016" / "fail.yaml").read_text()
    [f] = _run(tmp_path, text, "CNSEC-K8S-016")
    assert f.patch == [{"op": "remove", "path": "/spec/containers/0/volumeMounts/0"},
                       {"op": "remove", "path": "/spec/volumes/0"}]


def test_runtime_socket_is_not_also_reported_as_sensitive_host_path(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-016" / "fail.yaml").read_text()
    assert _run(tmp_path, text, "CNSEC-K8S-015") == []


def test_read_only_ca_bundle_mount_is_not_sensitive(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: busybox:1.36
      volumeMounts: [{name: ca, mountPath: /etc/ssl/certs, readOnly: true}]
  volumes:
    - {name: ca, hostPath: {path: /etc/ssl/certs}}
"""
    assert _run(tmp_path, text, "CNSEC-K8S-015") == []
    assert _run(tmp_path, text, "CNSEC-K8S-014") == []


ODD = """apiVersion: v1
kind: Pod
metadata: {name: odd}
spec:
  hostPID: "yes"
  securityContext: "runAsUser:65534"
  volumes: {name: v}
  initContainers: null
  containers:
    - name: a
      image: 7
      securityContext: [1, 2]
      ports: "8080"
      volumeMounts: "v"
    - "not a container"
    - name: b
      securityContext:
        capabilities: {add: "SYS_ADMIN", drop: null}
        seccompProfile: "RuntimeDefault"
        appArmorProfile: []
        seLinuxOptions: "s0"
        runAsUser: true
        procMount: 3
      ports: [null, {hostPort: null}, 5]
      volumeMounts: [null, {name: null}]
"""


@pytest.mark.parametrize("check_id", MINE)
def test_odd_values_never_make_a_check_fail(tmp_path: Path, check_id: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    report = assess([str(path)], Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
