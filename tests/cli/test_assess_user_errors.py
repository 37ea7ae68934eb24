"""``cnsec assess`` used carelessly: every mistake is one clear line, exit 2 where nothing was read,
no traceback, partial results kept, and no half-written or clobbered output file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., tuple[int, str, str]]

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: ops
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def assess_json(run_cli: Run, *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("assess", *args, "-f", "json", "--fail-on", "none")
    assert "Traceback" not in err
    return code, (json.loads(out) if out.strip() else {}), err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("cnsec: ") for line in lines), err
    return err


# -- inputs that are not what they claim ----------------------------------------------------------
def test_non_utf8_manifest_alone_is_an_input_error_naming_the_file(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "a.yaml", b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xff\xfe\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "a.yaml" in one_line_error(err) and "not UTF-8" in err


def test_non_utf8_manifest_beside_a_good_one_keeps_the_good_ones_findings(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "bad.yaml", b"kind: \xff\n")
    write(tmp_path / "good.yaml", PRIVILEGED_POD)
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert "CNSEC-K8S-001" in {f["check_id"] for f in data["findings"]}
    assert any(e["file"].endswith("bad.yaml") for e in data["errors"])


def test_binary_file_named_yaml_is_reported_not_silently_ignored(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "blob.yaml", bytes(range(256)) * 8)
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "blob.yaml" in one_line_error(err) and "binary" in err


def test_empty_yaml_file_is_read_without_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "empty.yaml", "")
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0 and data["errors"] == [] and err == ""


def test_directory_without_inputs_says_so_and_exits_0(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "README.txt", "nothing to assess")
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert "no Kubernetes, Dockerfile or Terraform files found" in err
    assert data["summary"]["findings"] == 0


def test_file_larger_than_the_limit_is_skipped_with_a_message(tmp_path: Path, run_cli: Run) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: 25 MB without writing them
        handle.truncate(25 * 1024 * 1024)
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert any(e["file"].endswith("big.yaml") and "larger than" in e["message"] for e in data["errors"])
    assert data["findings"]


def test_explicit_file_of_an_unknown_type_is_reported_not_silently_ignored(tmp_path: Path, run_cli: Run) -> None:
    notes = write(tmp_path / "deploy.yaml.txt", PRIVILEGED_POD)
    code, _, err = assess_json(run_cli, str(notes))
    assert code == 2
    assert "deploy.yaml.txt: not a Kubernetes" in err and "nothing could be read" in err


# -- YAML that is malformed, hostile or odd --------------------------------------------------------
def test_tab_indentation_error_names_the_line_and_hints_at_the_tab(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "tab.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "tab.yaml:4:" in one_line_error(err) and "tab" in err.split("tab.yaml:4:")[1]


def test_deeply_nested_flow_yaml_is_an_error_not_a_crash(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "deep.yaml:1:" in one_line_error(err)


def test_manifest_nested_hundreds_of_levels_is_refused_before_any_check_recurses(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
                                 "spec: {containers: [{name: a, image: x}], x: " + "[" * 400 + "]" * 400 + "}\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "nested deeper than" in one_line_error(err)
    assert "failed on" not in err


def test_deeply_nested_json_is_an_error_not_a_traceback(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "deep.json:1: invalid JSON" in one_line_error(err)


def test_self_referencing_alias_is_reported_as_such(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "self.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x, labels: *m}\n")
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    [error] = data["errors"]
    assert error["file"].endswith("self.yaml") and error["line"] == 1
    assert "refers to itself" in error["message"]


def test_billion_laughs_alias_bomb_is_refused(tmp_path: Path, run_cli: Run) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    write(tmp_path / "bomb.yaml", "\n".join(levels) + "\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "YAML bomb" in one_line_error(err)


def test_python_object_tag_is_refused_not_constructed(tmp_path: Path, run_cli: Run) -> None:
    marker = tmp_path / "pwned"
    write(tmp_path / "evil.yaml", "apiVersion: v1\nkind: Pod\nmetadata: !!python/object/apply:os.system\n"
                                  f"  - touch {marker}\n")
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "evil.yaml:3:" in one_line_error(err)
    assert not marker.exists()


def test_duplicate_keys_do_not_break_the_run(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "dup.yaml", PRIVILEGED_POD.replace("  name: debug\n", "  name: debug\n  name: debug2\n"))
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert "CNSEC-K8S-001" in {f["check_id"] for f in data["findings"]}


def test_anchors_and_merge_keys_are_resolved_before_checking(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "anchors.yaml", """\
apiVersion: v1
kind: Pod
metadata: {name: merged, namespace: ops}
spec:
  containers:
  - &base {name: a, image: busybox:1.36}
  - <<: *base
    name: b
    securityContext: {privileged: true}
""")
    code, data, _ = assess_json(run_cli, str(tmp_path), "--checks", "CNSEC-K8S-001")
    assert code == 0
    [finding] = data["findings"]
    assert finding["source"]["line"] == 9


def test_json_array_of_manifests_with_junk_items_keeps_the_manifests(tmp_path: Path, run_cli: Run) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
           "spec": {"containers": [{"name": "a", "image": "x", "securityContext": {"privileged": True}}]}}
    write(tmp_path / "all.json", json.dumps([pod, 5, None, "x", [], {"kind": 3}]))
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert [a["id"] for a in data["assets"]] == ["Pod/default/a"]
    assert "CNSEC-K8S-001" in {f["check_id"] for f in data["findings"]}


def test_kind_list_with_junk_items_keeps_the_real_items(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "list.yaml", """\
apiVersion: v1
kind: List
items:
- 1
- null
- just a string
- {kind: Pod}
- {apiVersion: v1, kind: Pod, metadata: oops, spec: []}
- apiVersion: v1
  kind: Pod
  metadata: {name: real}
  spec: {containers: [{name: a, image: x, securityContext: {privileged: true}}]}
""")
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert {"Pod/default/real", "Pod/default/(unnamed)"} == {a["id"] for a in data["assets"]}
    assert not [e for e in data["errors"] if "failed on" in e["message"]]


# -- Dockerfiles and Terraform -------------------------------------------------------------------
def test_dockerfile_with_odd_continuations_and_unknown_instruction_is_assessed(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", "FROM ubuntu \\\n\nRUN apt-get update \\\n  # comment\n"
                                   "  && curl -s https://x | sh \\\nFOOBAR baz\nTELEPORT now\nUSER\n")
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert any("TELEPORT" in e["message"] and e["line"] == 7 for e in data["errors"])
    assert data["summary"]["findings"] > 0
    assert "Dockerfile:7:" in err


def test_broken_hcl_names_file_and_line_and_the_good_file_is_still_assessed(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "a-broken.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n')
    write(tmp_path / "b-good.tf", 'resource "aws_ebs_volume" "v" {\n  size = 1\n  encrypted = false\n}\n')
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert data["errors"][0]["file"].endswith("a-broken.tf") and data["errors"][0]["line"]
    assert any(f["source"]["file"].endswith("b-good.tf") for f in data["findings"])
    assert "a-broken.tf:" in err


def test_empty_line_inside_a_continuation_continues_the_instruction_as_docker_does(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", "FROM alpine:3.19\nRUN apk add curl \\\n\n  && curl -s https://x.sh | sh\n")
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0 and data["errors"] == []
    assert "CNSEC-DKR-010" in {f["check_id"] for f in data["findings"]}


def test_a_stray_secret_line_in_a_dockerfile_is_not_echoed_in_the_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", "FROM alpine:3.19\nRUN echo hi\nhunter2secretpw=S3cr3tV4lue\n")
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert [e["line"] for e in data["errors"]] == [3]
    assert "S3cr3tV4lue" not in err + json.dumps(data)


def test_a_dockerfile_starting_with_a_secret_is_not_echoed_in_the_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB\nFROM alpine:3.19\n")
    code, data, err = assess_json(run_cli, str(tmp_path))
    assert code == 0 and "Dockerfile:1:" in one_line_error(err)
    assert "ghp_" not in err.lower() + json.dumps(data).lower()


def test_broken_hcl_heredoc_does_not_echo_its_secret_content(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "main.tf", 'variable "db" {\n  default = <<EOT\nSup3rS3cretPassw0rd\n')
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "main.tf:2: invalid HCL" in one_line_error(err)
    assert "Sup3rS3cret" not in err


def test_broken_hcl_after_a_quoted_password_does_not_echo_it(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "main.tf", 'resource "aws_db_instance" "d" {\n  password = "Sup3rS3cretPassw0rd" "x"\n}\n')
    code, _, err = assess_json(run_cli, str(tmp_path))
    assert code == 2
    assert "main.tf:2: invalid HCL" in one_line_error(err)
    assert "Sup3rS3cret" not in err


LEAKY_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: api
    image: nginx
    args: ["--password", "Zx9#kLm2PqR7vT4w"]
    env:
    - name: DB_PASSWORD
      value: "Zx9#kLm2PqR7vT4w"
    - name: API_TOKEN
      value: "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"
"""


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "table"])
def test_a_fix_that_copies_the_resource_does_not_copy_its_secrets(tmp_path: Path, run_cli: Run,
                                                                   fmt: str) -> None:
    write(tmp_path / "in" / "pod.yaml", LEAKY_POD)
    out = tmp_path / f"report.{fmt}"
    code, _, err = run_cli("assess", str(tmp_path / "in"), "-f", fmt, "--fail-on", "none", "-o", str(out))
    text = out.read_text()
    assert code == 0, err
    if fmt == "json":
        assert "kind: Deployment" in text  # the naked-pod fix is there, without the secrets
    assert "Zx9#kLm2PqR7vT4w" not in text and "ghp_abcdef" not in text


def test_a_secret_value_reused_on_another_line_is_masked_in_snippets(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "Dockerfile", 'FROM alpine:3.19\nENV DB_PASSWORD=Zx9#kLm2PqR7vT4w\n'
                                   'RUN echo "Zx9#kLm2PqR7vT4w" > /pw\n')
    write(tmp_path / "pod.yaml", LEAKY_POD)
    code, out, err = run_cli("assess", str(tmp_path), "-f", "markdown", "--fail-on", "none")
    assert code == 0, err
    assert "FROM alpine:3.19" in out  # snippets are there
    assert "Zx9#kLm2PqR7vT4w" not in out


def test_deeply_nested_hcl_is_a_clear_error_and_the_rest_is_assessed(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "a-deep.tf", 'resource "aws_s3_bucket" "b" {\n  x = ' + "[" * 900 + "]" * 900 + "\n}\n")
    write(tmp_path / "b-good.tf", 'resource "aws_ebs_volume" "v" {\n  size = 1\n  encrypted = false\n}\n')
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert [e["message"] for e in data["errors"]] == ["invalid HCL: nested too deeply"]
    assert any(f["source"]["file"].endswith("b-good.tf") for f in data["findings"])


# -- output options ------------------------------------------------------------------------------
def test_unknown_format_is_a_usage_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, out, err = run_cli("assess", str(tmp_path), "-f", "xml")
    assert code == 2 and out == ""
    assert "invalid choice: 'xml'" in err and "Traceback" not in err


def test_garbage_fail_on_is_a_usage_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path), "--fail-on", "severe")
    assert code == 2 and "--fail-on" in err and "Traceback" not in err


def test_output_into_a_missing_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json", "-o", str(tmp_path / "no" / "r.json"))
    assert code == 2
    assert "cannot write report" in one_line_error(err)


def test_output_under_a_regular_file_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    blocker = write(tmp_path / "blocker", "a file, not a folder")
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-o", str(blocker / "r.json"))
    assert code == 2 and "cannot write report" in one_line_error(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_output_into_a_read_only_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "in" / "pod.yaml", PRIVILEGED_POD)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = run_cli("assess", str(tmp_path / "in"), "-o", str(ro / "r.json"))
    finally:
        ro.chmod(0o755)
    assert code == 2 and "cannot write report" in one_line_error(err)
    assert list(ro.iterdir()) == []


def test_failed_run_leaves_an_existing_output_file_untouched(tmp_path: Path, run_cli: Run) -> None:
    out = write(tmp_path / "report.json", "previous report\n")
    code, _, err = run_cli("assess", str(tmp_path / "missing"), "-f", "json", "-o", str(out))
    assert code == 2 and "nothing could be read" in err
    assert out.read_text() == "previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_report_over_a_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    (tmp_path / "out").mkdir()
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "json", "-o", str(tmp_path / "out"))
    assert code == 2 and "cannot write report" in one_line_error(err)


def test_sarif_uris_of_odd_file_names_are_percent_encoded(tmp_path: Path, run_cli: Run,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import unquote

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "my deploy" / "app#1" / "pöd 100%.yaml", PRIVILEGED_POD)
    code, out, _ = run_cli("assess", "my deploy", "-f", "sarif", "--fail-on", "none")
    assert code == 0
    sarif = json.loads(out)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert uris == {"my%20deploy/app%231/p%C3%B6d%20100%25.yaml"}
    assert unquote(uris.pop()) == "my deploy/app#1/pöd 100%.yaml"


HOSTILE_NAMES = """\
apiVersion: v1
kind: Pod
metadata:
  name: "evil `x` | [click](http://evil.example)\\n# Injected heading\\n```\\nrm -rf ~"
spec:
  containers:
  - name: a
    image: nginx
    securityContext: {privileged: true}
"""


def test_markdown_report_cannot_be_broken_by_hostile_resource_names(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "p.yaml", HOSTILE_NAMES)
    code, out, err = run_cli("assess", str(tmp_path), "-f", "markdown", "--fail-on", "none")
    assert code == 0, err
    assert not [line for line in out.splitlines() if line.startswith("# Injected")]
    assert not [line for line in out.splitlines() if line.strip() == "rm -rf ~"]
    fences = [line.strip() for line in out.splitlines() if line.strip().startswith("```")]
    assert len(fences) % 2 == 0


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "sarif"])
def test_terminal_escapes_in_resource_names_never_reach_the_report(tmp_path: Path, run_cli: Run,
                                                                    fmt: str) -> None:
    write(tmp_path / "p.yaml", PRIVILEGED_POD.replace("name: debug", 'name: "x\\e]0;pwned\\a\\e[2J\\u202e"'))
    code, out, err = run_cli("assess", str(tmp_path), "-f", fmt, "--fail-on", "none")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    if fmt in ("table", "markdown"):  # JSON keeps the exact (escaped) value for machines
        assert "\u202e" not in out
    assert "pwned" in out  # shown, as visible escapes


def test_terminal_escapes_in_file_names_never_reach_stderr(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "bad\x1b[2J.yaml", "kind: [\n")
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    assert code == 0
    assert "bad\\x1b[2J.yaml:2:" in err and "\x1b" not in err


def test_rich_markup_in_resource_names_is_shown_not_interpreted(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "p.yaml", PRIVILEGED_POD.replace("name: debug", 'name: "[bold]x[/bold]"'))
    code, out, err = run_cli("assess", str(tmp_path), "-f", "table", "--fail-on", "none")
    assert code == 0, err
    assert "Pod/ops/[bold]x[/bold]" in out


def test_kubectl_command_in_a_fix_quotes_the_resource_name(tmp_path: Path, run_cli: Run) -> None:
    import shlex

    write(tmp_path / "p.yaml", PRIVILEGED_POD.replace("name: debug", 'name: "debug; rm -rf ~"'))
    code, data, _ = assess_json(run_cli, str(tmp_path))
    commands = [line[len("# "):] for item in data["plan"] for patch in item.get("patches", [])
                for line in patch.get("yaml", "").splitlines() if line.startswith("# kubectl patch")]
    assert code == 0 and commands
    for command in commands:
        assert shlex.split(command)[3] == "debug; rm -rf ~"


# -- baselines -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "expected"), [
    (b"not json", "baseline is not valid JSON"),
    (b"[1, 2]", "JSON object with a"),
    (b'{"findings": [{"x": 1}]}', 'has no "id"'),
    (b'{"findings": [[1]]}', "must be an object with an id"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"findings": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
], ids=["not-json", "not-object", "entry-without-id", "entry-a-list", "not-utf8", "too-deep"])
def test_bad_baseline_is_a_one_line_input_error(tmp_path: Path, run_cli: Run, content: bytes,
                                                  expected: str) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    baseline = write(tmp_path / "baseline.json", content)
    out = write(tmp_path / "report.json", "previous\n")
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "json", "--baseline", str(baseline),
                           "-o", str(out))
    assert code == 2
    assert expected in one_line_error(err) and "baseline.json" in err
    assert out.read_text() == "previous\n"


def test_baseline_that_is_a_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "json", "--baseline", str(tmp_path))
    assert code == 2 and "cannot read baseline" in one_line_error(err)


def test_write_baseline_to_a_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "json",
                           "--write-baseline", str(tmp_path))
    assert code == 2 and "cannot write baseline" in one_line_error(err)


def test_baseline_round_trip_hides_known_findings(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "in" / "pod.yaml", PRIVILEGED_POD)
    baseline = tmp_path / "baseline.json"
    run_cli("assess", str(tmp_path / "in"), "-f", "json", "--write-baseline", str(baseline))
    code, data, _ = assess_json(run_cli, str(tmp_path / "in"), "--baseline", str(baseline))
    assert code == 0 and data["findings"] == []


# -- .cnsec.yaml with wrong types ----------------------------------------------------------------
@pytest.mark.parametrize(("config", "expected"), [
    ("ignore: 5\n", "ignore must be a list, not a number"),
    ("ignore: CNSEC-K8S-001\n", "ignore must be a list, not a string"),
    ("assets: {match: x}\n", "assets must be a list, not a mapping"),
    ("checks: {skip: 5}\n", "checks.skip must be a list"),
    ("checks: {skip: CNSEC-K8S-001}\n", "checks.skip must be a list, not a string"),
    ("checks: [CNSEC-K8S-001]\n", "checks must be a mapping"),
    ("checks: {skipp: [CNSEC-K8S-001]}\n", "unknown key checks.skipp"),
    ("allowed_registries: {a: 1}\n", "allowed_registries must be a list, not a mapping"),
    ("assets: [{match: '*', data_classes: pii}]\n", "data_classes must be a list"),
    ("ignore: [{check: [CNSEC-K8S-001], reason: r}]\n", "ignore check must be a string"),
    ("ignore: [{check: CNSEC-K8S-001, reason: r, asset: 5}]\n", "ignore asset must be a string"),
    ("ignore: [{check: CNSEC-K8S-001, reason: r, expires: soon}]\n", "expires must be a date"),
    ("a: &a [*a]\n", "refers to itself"),
    ("- just\n- a list\n", "must be a mapping"),
], ids=lambda v: v[:30])
def test_config_with_wrong_types_is_a_one_line_config_error(tmp_path: Path, run_cli: Run, config: str,
                                                             expected: str) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    write(tmp_path / ".cnsec.yaml", config)
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2 and out == ""
    assert expected in one_line_error(err) and ".cnsec.yaml" in err


def test_config_that_is_not_utf8_is_a_one_line_config_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    write(tmp_path / ".cnsec.yaml", b"ignore: \xff\n")
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2 and "not UTF-8" in one_line_error(err)


def test_explicit_config_that_is_a_directory_is_a_one_line_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json", "--config", str(tmp_path))
    assert code == 2 and "configuration file not found" in one_line_error(err)


def test_config_skip_list_still_works(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    write(tmp_path / ".cnsec.yaml", "checks: {skip: [CNSEC-K8S-001]}\n")
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0 and "CNSEC-K8S-001" not in {f["check_id"] for f in data["findings"]}


def test_ignore_annotation_that_is_not_a_string_is_reported_not_silently_dropped(
        tmp_path: Path, run_cli: Run) -> None:
    pod = PRIVILEGED_POD.replace("  namespace: ops\n", "  namespace: ops\n  annotations:\n"
                                 "    cnsec.io/ignore: [CNSEC-K8S-001=debug pod]\n")
    write(tmp_path / "pod.yaml", pod)
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0
    assert any("cnsec.io/ignore" in e["message"] and "must be a string" in e["message"] for e in data["errors"])
    assert not any(f["suppressed"] for f in data["findings"] if f["check_id"] == "CNSEC-K8S-001")


# -- check selection -----------------------------------------------------------------------------
def test_checks_option_matching_no_check_is_a_usage_error_not_a_silent_pass(
        tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, out, err = run_cli("assess", str(tmp_path), "-f", "json", "--checks", "CNSEC-K8S-01")
    assert code == 2 and out == ""
    assert "no check matches CNSEC-K8S-01" in one_line_error(err)


def test_checks_option_with_a_glob_still_selects(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    code, data, _ = assess_json(run_cli, str(tmp_path), "--checks", "CNSEC-K8S-00*")
    assert code == 0 and {f["check_id"] for f in data["findings"]} >= {"CNSEC-K8S-001"}
    assert all(f["check_id"].startswith("CNSEC-K8S-00") for f in data["findings"])


def test_config_only_list_matching_no_check_is_a_usage_error(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    write(tmp_path / ".cnsec.yaml", "checks: {only: [K8S-001]}\n")
    code, _, err = run_cli("assess", str(tmp_path), "-f", "json")
    assert code == 2 and "no check matches K8S-001" in one_line_error(err)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_yaml_in_the_folder_is_skipped_not_read_forever(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    os.mkfifo(tmp_path / "pipe.yaml")
    code, data, _ = assess_json(run_cli, str(tmp_path))
    assert code == 0 and data["summary"]["files"] == 1
    assert "CNSEC-K8S-001" in {f["check_id"] for f in data["findings"]}


# -- stdin and the catalog -----------------------------------------------------------------------
def test_garbage_on_stdin_is_an_input_error(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("kind: [unclosed\n"))
    code, _, err = run_cli("assess", "-", "-f", "json")
    assert code == 2 and "<stdin>:" in one_line_error(err)


def test_nul_bytes_on_stdin_are_a_one_line_error(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\x00" * 100))
    code, _, err = run_cli("assess", "-", "-f", "json")
    assert code == 2 and "<stdin>" in one_line_error(err) and len(err.strip().splitlines()) == 1


def test_non_utf8_bytes_on_stdin_are_reported_as_such_and_no_check_fails(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"kind: \xff\xfe\n"),
                                                      errors="surrogateescape"))
    code, _, err = run_cli("assess", "-", "-f", "json")
    assert code == 2 and "<stdin>: not UTF-8 text" in one_line_error(err)
    assert "failed on" not in err


def test_manifest_bytes_on_stdin_are_assessed(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(PRIVILEGED_POD.encode())))
    code, data, _ = assess_json(run_cli, "-")
    assert code == 0 and "CNSEC-K8S-001" in {f["check_id"] for f in data["findings"]}


def test_checks_list_json_is_the_whole_catalog_with_threats(run_cli: Run) -> None:
    code, out, _ = run_cli("checks", "list", "-f", "json")
    catalog = json.loads(out)
    assert code == 0 and len(catalog) >= 60
    assert all(c["id"].startswith("CNSEC-") and c["threat_ids"] for c in catalog)


def test_checks_list_with_unknown_format_is_a_usage_error(run_cli: Run) -> None:
    code, _, err = run_cli("checks", "list", "-f", "sarif")
    assert code == 2 and "invalid choice" in err
