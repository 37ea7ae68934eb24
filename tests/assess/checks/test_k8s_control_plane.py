"""Control-plane checks read flags where kubeadm, RKE2 and shell wrappers put them, and patch them."""

from __future__ import annotations

from pathlib import Path

from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding

FIXTURES = Path(__file__).parent / "fixtures"


def _findings(tmp_path: Path, text: str, check_id: str) -> list[Finding]:
    path = tmp_path / "pod.yaml"
    path.write_text(text)
    report = assess([str(path)], Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if f.check_id == check_id]


def _kubelet_findings(tmp_path: Path, text: str) -> list[Finding]:
    """Both kubelet checks: anonymous access (054) and the read-only port (064)."""
    return _findings(tmp_path, text, "CNSEC-K8S-054") + _findings(tmp_path, text, "CNSEC-K8S-064")


APISERVER = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.30.2
    command:
    - kube-apiserver
    - --secure-port=6443
    - --anonymous-auth=true
"""


def test_explicit_flag_is_replaced_and_its_line_reported(tmp_path: Path) -> None:
    [f] = _findings(tmp_path, APISERVER, "CNSEC-K8S-053")
    assert f.source.line == 13
    assert f.patch == [{"op": "replace", "path": "/spec/containers/0/command/2",
                        "value": "--anonymous-auth=false"}]


def test_missing_flag_is_appended_to_args_when_the_binary_has_args(tmp_path: Path) -> None:
    text = APISERVER.replace("    - --secure-port=6443\n    - --anonymous-auth=true\n",
                             "    args:\n    - --secure-port=6443\n")
    [f] = _findings(tmp_path, text, "CNSEC-K8S-057")
    assert f.patch == [{"op": "add", "path": "/spec/containers/0/args/-",
                        "value": "--encryption-provider-config=/etc/kubernetes/encryption-config.yaml"}]


def test_flags_inside_a_shell_command_line_are_read(tmp_path: Path) -> None:
    text = APISERVER.replace(
        "    - kube-apiserver\n    - --secure-port=6443\n    - --anonymous-auth=true\n",
        "    - /bin/sh\n    - -c\n"
        '    - "exec /usr/local/bin/kube-apiserver --insecure-port=8080 --anonymous-auth=false"\n')
    [f] = _findings(tmp_path, text, "CNSEC-K8S-058")
    assert "8080" in f.message
    assert f.patch is None and f.fix == "--insecure-port=0"
    assert not _findings(tmp_path, text, "CNSEC-K8S-053")


def test_space_separated_flag_value_is_read(tmp_path: Path) -> None:
    text = APISERVER.replace("    - --anonymous-auth=true\n",
                             "    - --authorization-mode\n    - Node,RBAC\n")
    assert not _findings(tmp_path, text, "CNSEC-K8S-055")


def test_non_control_plane_containers_are_ignored(tmp_path: Path) -> None:
    text = APISERVER.replace("    - kube-apiserver\n", "    - my-kube-apiserver-proxy\n")
    assert not _findings(tmp_path, text, "CNSEC-K8S-053")


def test_kubelet_configuration_document_gets_a_patch(tmp_path: Path) -> None:
    findings = _kubelet_findings(tmp_path, (FIXTURES / "CNSEC-K8S-054" / "fail-kubelet-config.yaml").read_text())
    patches = sorted(str(f.patch) for f in findings)
    assert len(findings) == 2
    assert "'/authentication/anonymous/enabled', 'value': False" in patches[0]
    assert "'/readOnlyPort', 'value': 0" in patches[1]


def test_each_kubelet_problem_is_its_own_finding(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-054" / "fail-missing.yaml").read_text()
    findings = _kubelet_findings(tmp_path, text)
    assert sorted(f.fix or "" for f in findings) == ["--anonymous-auth=false", "--read-only-port=0"]


def test_null_command_and_odd_values_do_not_break_the_checks(tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
            "  - name: a\n    command:\n  - name: b\n    command: [kube-apiserver, 3, null, {a: 1}]\n"
            "    args: kubelet\n")
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    report = assess([str(path)], Config(), only={"CNSEC-K8S-05*"})
    assert not report.errors, [str(e) for e in report.errors]
    assert any(f.check_id == "CNSEC-K8S-053" for f in report.findings)


def test_kubelet_flag_overrides_its_configuration_file(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-055" / "pass-kubelet-info.yaml").read_text()
    assert not _findings(tmp_path, text, "CNSEC-K8S-055")  # config says AlwaysAllow, the flag says Webhook
    findings = _kubelet_findings(tmp_path, text)
    assert sorted(f.fix or "" for f in findings) == ["authentication.anonymous.enabled: False",
                                                    "readOnlyPort: 0"]


def test_kubelet_without_flags_or_config_file_gets_the_unsafe_defaults(tmp_path: Path) -> None:
    text = (FIXTURES / "CNSEC-K8S-054" / "fail-missing.yaml").read_text()
    [f] = _findings(tmp_path, text, "CNSEC-K8S-055")
    assert "AlwaysAllow" in f.message
    assert f.patch == [{"op": "add", "path": "/spec/containers/0/command/-", "value": "--authorization-mode=Webhook"}]


def test_each_committed_secret_value_is_a_finding_whose_line_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text((FIXTURES / "CNSEC-K8S-059" / "fail.yaml").read_text())
    report = assess([str(path)], Config(), only={"CNSEC-K8S-059"})
    findings = sorted(report.findings, key=lambda f: f.source.line or 0)
    assert [(f.source.line, f.location) for f in findings] == [(8, "data.username"), (9, "data.password")]
    snippets = "\n".join(f.snippet or "" for f in findings)
    assert "c2hvcA==" not in snippets and "bm90LWEtcmVhbC1wYXNzd29yZA==" not in snippets
