"""cnsec dropped into CI as gitleaks, Checkov or Trivy are: the GitHub Action's command line, the
pre-commit hooks and cnsec's own container image, each run as its host would run it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.assess.test_assess_cli import PRIVILEGED_POD  # the one privileged-Pod manifest of the CLI tests

REPO = Path(__file__).resolve().parents[2]
CNSEC = str(Path(sys.executable).with_name("cnsec"))
ACTION_RUN = REPO / "scripts" / "action-run.sh"



def run_action(tmp_path: Path, **inputs: str) -> tuple[int, str, dict[str, str]]:
    """The action's `run` step as GitHub runs it: inputs in the environment, outputs in $GITHUB_OUTPUT."""
    out_file = tmp_path / "github-output"
    out_file.write_text("")
    env = {**os.environ, "CNSEC": CNSEC, "GITHUB_OUTPUT": str(out_file),
           **{f"CNSEC_{k.upper()}": v for k, v in inputs.items()}}
    proc = subprocess.run(["bash", str(ACTION_RUN), "run"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
    return proc.returncode, proc.stderr, outputs


def test_the_action_passes_every_input_to_its_script_through_the_environment() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = action["runs"]["steps"]
    run_step = next(s for s in steps if s.get("id") == "run")
    script = ACTION_RUN.read_text()
    for name, value in run_step["env"].items():
        used = name in script or f"${name}" in run_step["run"]
        assert used, f"{name} is set by action.yml but read neither by the step nor by action-run.sh"
        assert value.startswith("${{ ") and value.endswith(" }}")
    for step in steps:
        assert "${{" not in step.get("run", ""), "an input spliced into a shell script can run code"
    assert set(action["inputs"]) >= {"command", "path", "fail-on", "sarif"}


def test_the_action_writes_sarif_and_reports_the_exit_code_of_a_clean_run(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "shop")
    code, err, outputs = run_action(tmp_path, command="assess", path="shop", fail_on="none", sarif="out.sarif")
    assert code == 0, err
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert outputs["exit-code"] == "0"


def test_the_action_fails_the_job_when_findings_reach_fail_on(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pod.yaml").write_text(PRIVILEGED_POD)
    code, _, outputs = run_action(tmp_path, command="assess", path="deploy", fail_on="high")
    assert code == 1
    assert outputs["exit-code"] == "1"
    assert (tmp_path / "cnsec.sarif").exists()


def test_the_action_runs_the_secret_scan_and_the_rbac_audit(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pod.yaml").write_text(PRIVILEGED_POD)
    for command in ("scan", "iam-audit"):
        code, err, _ = run_action(tmp_path, command=command, path="deploy", fail_on="none",
                                  sarif=f"{command}.sarif")
        assert code == 0, err
        assert json.loads((tmp_path / f"{command}.sarif").read_text())["version"] == "2.1.0"


def test_an_input_holding_shell_syntax_stays_text(tmp_path: Path) -> None:
    code, err, _ = run_action(tmp_path, command="assess", path="$(touch pwned)", fail_on="none",
                              args="; touch pwned2")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert code == 2, err


def test_the_action_refuses_an_unknown_command_or_fail_on_level(tmp_path: Path) -> None:
    assert run_action(tmp_path, command="deploy")[0] == 2
    assert run_action(tmp_path, command="assess", fail_on="severe")[0] == 2


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})


def run_hook(hook_id: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A hook's entry and args as pre-commit runs them (pass_filenames is false for both)."""
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks[hook_id]
    assert hook["pass_filenames"] is False
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert argv[0] == "cnsec"
    return subprocess.run([CNSEC, *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    return tmp_path


def test_the_secrets_hook_stops_a_commit_that_stages_a_key(git_repo: Path) -> None:
    # a key made up here, in AWS's documented shape
    key_id = "AKIA" + "QZ7XW3R2T5Y6U8I9"
    secret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq7Xw3R2T5Y6"
    (git_repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{secret}"\n')
    _git(git_repo, "add", "settings.py")
    proc = run_hook("cnsec-secrets", git_repo)
    assert proc.returncode == 1, proc.stderr
    assert secret not in proc.stdout + proc.stderr


def test_the_secrets_hook_lets_a_clean_commit_through(git_repo: Path) -> None:
    (git_repo / "app.py").write_text("print('hello')\n")
    _git(git_repo, "add", "app.py")
    proc = run_hook("cnsec-secrets", git_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_assess_hook_stops_a_privileged_pod(git_repo: Path) -> None:
    (git_repo / "pod.yaml").write_text(PRIVILEGED_POD)
    proc = run_hook("cnsec-assess", git_repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_cnsec_own_image_runs_as_a_non_root_user_with_no_high_finding() -> None:
    proc = subprocess.run([CNSEC, "assess", str(REPO / "Dockerfile"), "-f", "json", "--fail-on", "high"],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, [f["check_id"] for f in report["findings"]]
    assert report["summary"]["resources"] >= 1
    users = [line.split()[1] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0:", "0"))
