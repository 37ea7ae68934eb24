"""Every command of the README runs as written, with the inputs in examples/, and exits as expected.

The README's shell blocks are read, not copied: a command added to the README without an entry in
:data:`EXPECTED` (or :data:`NOT_RUN`, with the reason) fails this test, and so does an entry whose
command left the README. All commands run in order in one bash session, in a temporary directory
holding a copy of ``examples/`` (so relative paths work as printed and nothing is written into the
repository), with a fresh data directory, IAM store and master key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

#: command (as printed, without its trailing comment) -> exit code. 1 means "findings/alerts at or
#: above the threshold", which is what these example inputs are made to have.
EXPECTED: dict[str, int] = {
    "cnsec assess examples/shop": 1,
    "cnsec assess examples/shop -f sarif -o cnsec.sarif --fail-on high": 1,
    "cnsec assess examples/shop -f markdown -o SECURITY-ASSESSMENT.md": 1,
    "cnsec assess examples/shop --write-baseline baseline.json --fail-on none": 0,
    "cnsec assess examples/shop --baseline baseline.json": 0,
    "cnsec checks list": 0,
    "cnsec assess examples/render/onlineboutique --values examples/render/prod-values.yaml --set images.tag=v0.10.3 "
    "--release boutique -n shop": 0,
    "cnsec assess examples/render/shop/overlays/prod": 1,
    "cnsec iam init": 0,
    "cnsec iam users add mary --role admin": 0,
    "cnsec iam roles add auditor --allow 'findings:read' --allow 'reports:*' --deny 'keys:*'": 0,
    "cnsec iam login mary": 0,
    "cnsec iam can mary delete keys/app-data": 0,
    "cnsec iam mfa enable mary": 0,
    "cnsec iam audit examples/shop": 1,
    "cnsec iam who-can get secrets -n shop examples/shop": 0,
    "export CNSEC_MASTER_KEY=$(head -c 32 /dev/urandom | base64)": 0,
    "cnsec data keys create app-data": 0,
    "cnsec data encrypt examples/data/orders.csv -o orders.csv.cnsec --key app-data --context tenant=acme": 0,
    "cnsec data decrypt orders.csv.cnsec -o orders.csv --context tenant=acme": 0,
    "cnsec data encrypt examples/data/secrets.yaml --values -o secrets.enc.yaml": 0,
    "cnsec data keys rotate app-data && cnsec data rewrap orders.csv.cnsec secrets.enc.yaml": 0,
    "cnsec data scan examples/shop": 1,
    "cnsec detect examples/attack/audit.log examples/attack/cloudtrail.jsonl": 1,
    "cnsec rules list": 0,
    "cnsec threats list": 0,
    "cnsec correlate examples/attack/access.log examples/metrics/scrapes.prom -f jsonl -o alerts.jsonl": 1,
    "cnsec respond alerts.jsonl --playbook examples/attack/playbook.yaml": 0,
    "cnsec respond playbook show": 0,
    "cnsec respond verify": 0,
    "cnsec vulndb build examples/vulns/osv/": 0,
    "cnsec vulns examples/vulns/app": 1,
    "cnsec vulns examples/vulns/app -f sarif -o v.sarif --fail-on high": 1,
    "cnsec serve keys add --user mary --name ci": 0,
    "cnsec serve keys list": 0,
    "python3 examples/vulns/make_images.py images": 0,
    "cnsec assess examples/vulns/deploy --images images --kev examples/vulns/kev.json --epss examples/vulns/epss.csv "
    "-f markdown -o shop.md": 1,
    "source <(cnsec completion bash)": 0,
}

#: commands printed for people to type that a test machine cannot run as printed, and why
NOT_RUN: dict[str, str] = {
    "make demo": "builds the project's venv; .ci/run runs it on a fresh clone before make test",
    "make test": "this very suite",
    # a live cluster: the same command lines run against a loopback API server serving a recorded
    # cluster in tests/k8s/live/ (test_cli.py, test_same_findings.py)
    "cnsec assess --cluster": "needs a cluster (tests/k8s/live runs it against a loopback API server)",
    "cnsec assess --cluster --context prod -n payments -f markdown -o prod.md": "needs a cluster (tests/k8s/live)",
    "cnsec assess --cluster --compare examples/shop/k8s": "needs a cluster (tests/k8s/live)",
    "cnsec iam audit --cluster ; cnsec iam who-can create pods/exec --cluster": "needs a cluster (tests/k8s/live)",
    "kubectl apply -f deploy/cnsec-reader.yaml": "needs a cluster; the role itself is tested in tests/k8s/live",
    "cnsec serve": "a server that runs until stopped: tests/serve/test_observe.py starts it and talks to it",
    "kubectl apply -f deploy/serve/": "needs a cluster; tests/serve/test_deploy.py assesses the manifests",
    # the bus: each runs until stopped or needs a nats-server; tests/serve/bus starts one per test and runs
    # these same command lines against it (test_bus.py, test_faults.py, test_serve_bus.py)
    "nats-server -js &": "a server that runs until stopped (tests/serve/bus/conftest.py starts one per test)",
    "cnsec detect --bus nats://127.0.0.1:4222 --worker": "runs until stopped (tests/serve/bus)",
    "cnsec detect --bus nats://127.0.0.1:4222 --publish audit.log cloudtrail/": "needs a nats-server "
    "(tests/serve/bus/test_bus.py publishes the corpus this way)",
    "cnsec serve --bus nats://127.0.0.1:4222": "a server that runs until stopped (tests/serve/bus/test_serve_bus.py)",
}

#: what a person types at the prompt; the test gives it on stdin with --password-stdin (the terminal
#: prompt itself is tested in tests/iam)
PASSWORD = "correct horse battery staple 9"
STDIN: dict[str, str] = {
    "cnsec iam users add mary --role admin": PASSWORD,
    "cnsec iam login mary": PASSWORD,
}


def readme_commands(text: str) -> list[str]:
    """The commands of every ```sh block: one per line, trailing ``# comment`` removed, comment-only
    lines (continuations of the previous line's comment) skipped."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            command = re.split(r"\s+#\s", " " + line.strip() + " ", maxsplit=1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_the_readme_blocks_are_read_as_commands() -> None:
    text = "```sh\ncnsec a x   # one\n                # more comment\ncnsec b 'q#r'\n```\n```py\nx\n```\n"
    assert readme_commands(text) == ["cnsec a x", "cnsec b 'q#r'"]


def test_every_readme_command_has_an_expected_exit_code() -> None:
    commands = readme_commands(README.read_text())
    unknown = [c for c in commands if c not in EXPECTED and c not in NOT_RUN]
    assert not unknown, f"README commands with no entry in EXPECTED or NOT_RUN: {unknown}"
    stale = [c for c in [*EXPECTED, *NOT_RUN] if c not in commands]
    assert not stale, f"entries for commands no longer in the README: {stale}"


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """Run the README's commands in order in one bash session; command -> (exit code, its output)."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "examples", work / "examples")
    home = work / "home"
    home.mkdir()
    bindir = Path(sys.executable).parent
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(home),
           "XDG_DATA_HOME": str(home / "data"), "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
           "LANG": "C.UTF-8", "USER": "readme", "PYTHONPATH": str(REPO / "src")}
    lines = ["set +e"]
    commands = [c for c in readme_commands(README.read_text()) if c in EXPECTED]
    for i, command in enumerate(commands):
        feed = ""
        if command in STDIN:
            command_run = f"{command} --password-stdin"
            feed = f" <<'CNSEC_README_EOF'\n{STDIN[command]}\nCNSEC_README_EOF"
        else:
            command_run = command
        lines.append(f"{{ {command_run} ; }} >{work}/out.{i} 2>&1 </dev/null{feed}")
        lines.append(f"echo $? >{work}/rc.{i}")
    script = work / "readme.sh"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["bash", str(script)], cwd=work, env=env, check=False, timeout=600)
    return {c: (int((work / f"rc.{i}").read_text()), (work / f"out.{i}").read_text(errors="replace"))
            for i, c in enumerate(commands)}


def test_every_readme_command_exits_as_expected(readme_run: dict[str, tuple[int, str]]) -> None:
    wrong = {c: (code, out[-600:]) for c, (code, out) in readme_run.items() if code != EXPECTED[c]}
    assert not wrong, "\n\n".join(f"{c}\n  exit {code}, expected {EXPECTED[c]}\n{out}"
                                  for c, (code, out) in wrong.items())


def test_no_readme_command_prints_a_traceback(readme_run: dict[str, tuple[int, str]]) -> None:
    assert not [c for c, (_, out) in readme_run.items() if "Traceback (most recent call last)" in out]


def _alerts(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("command", "expected"), [
    (["detect", "audit.log", "cloudtrail.jsonl", "-f", "jsonl"], "detect-alerts.jsonl"),
    (["correlate", "access.log", "audit.log", "cloudtrail.jsonl", "-f", "jsonl"], "alerts.jsonl"),
])
def test_the_attack_example_still_gives_its_committed_alerts(command: list[str], expected: str) -> None:
    """examples/attack/README.md says what detect and correlate make of the example; this keeps it true."""
    folder = REPO / "examples" / "attack"
    out = subprocess.run([sys.executable, "-m", "cnsec", *command], cwd=folder, capture_output=True,
                         text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 1, out.stderr
    assert _alerts(out.stdout) == _alerts((folder / expected).read_text())
