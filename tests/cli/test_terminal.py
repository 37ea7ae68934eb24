"""cnsec in a real terminal: a pseudo-terminal of 80 columns, as a user's window is, with NO_COLOR
and ``--no-color`` honoured and every table fitted to the window (no line wider, no escape code)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.assess.test_assess_cli import PRIVILEGED_POD

REPO = Path(__file__).resolve().parents[2]
CNSEC = str(Path(sys.executable).with_name("cnsec"))
SHOP = REPO / "examples" / "shop"
AUDIT_LOG = REPO / "tests" / "detect" / "data" / "managed" / "gke-panther.jsonl"
ESCAPE = re.compile(r"\x1b|\x9b")


def in_terminal(args: list[str], *, columns: int = 80, env: dict[str, str] | None = None,
                cwd: Path | None = None, stdin: bytes | None = None) -> tuple[int, str]:
    """Run ``cnsec ARGS`` with stdin, stdout and stderr on one pseudo-terminal ``columns`` wide (set
    with TIOCSWINSZ, as stty does); everything it wrote, as the user would see it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([CNSEC, *args], stdin=subprocess.PIPE if stdin is not None else slave,
                            stdout=slave, stderr=slave, cwd=cwd, env={**base, "TERM": "xterm-256color",
                                                                      **(env or {})},
                            close_fds=True)
    os.close(slave)
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    chunks = []
    deadline = time.monotonic() + float(os.environ.get("CNSEC_TEST_PTY_TIMEOUT", "120"))
    while True:
        ready, _, _ = select.select([master], [], [], max(deadline - time.monotonic(), 0))
        if not ready:  # still running (waiting on the terminal?): a failure, not a hung suite
            proc.kill()
            proc.wait()
            os.close(master)
            pytest.fail(f"cnsec {' '.join(args)} did not finish in time; it wrote {b''.join(chunks)!r}")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8", "replace")


def lines_of(text: str) -> list[str]:
    """What the terminal shows, line by line: a carriage return starts the line over (the
    terminal driver turns each newline into CR LF)."""
    return [seg for line in text.replace("\r\n", "\n").split("\n") for seg in line.split("\r")]


def assert_fits(text: str, columns: int = 80) -> None:
    wide = [line for line in lines_of(text) if len(line) > columns]
    assert not wide, f"{len(wide)} lines wider than {columns}, e.g. {wide[0]!r}"


@pytest.fixture
def secrets_tree(tmp_path: Path) -> Path:
    """A tree with a hard-coded AWS key and a private key, as the secret scan's users have."""
    tree = tmp_path / "app"
    tree.mkdir()
    (tree / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIA' + "QYLPMN5HHHFPZAM2" + '"\n'
                                      'aws_secret_access_key = "' + "Zq4mT8vN2xR7kL1pW9sY3bH6"
                                      + "cF0dJ5gA8eU2iO4n" + '"\n')
    (tree / "deploy.yaml").write_text(PRIVILEGED_POD)
    return tree


def commands(tree: Path) -> dict[str, list[str]]:
    """One table of each pillar, as a user types it on a terminal (no -f: a table is the default)."""
    return {
        "assess": ["assess", str(SHOP), "--fail-on", "none"],
        "data scan": ["data", "scan", str(tree), "--fail-on", "none"],
        "iam audit": ["iam", "audit", str(SHOP), str(tree), "--fail-on", "none"],
        "detect": ["detect", str(AUDIT_LOG), "--fail-on", "none"],
    }


@pytest.mark.parametrize("name", ["assess", "data scan", "iam audit", "detect"])
def test_with_no_color_an_80_column_terminal_gets_no_escape_code_and_no_wider_line(
        name: str, secrets_tree: Path) -> None:
    code, out = in_terminal(commands(secrets_tree)[name], env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert code == 0, out
    assert "severity" in out.lower() and out.count("\n") > 3, out
    assert not ESCAPE.search(out), ESCAPE.search(out)
    assert_fits(out)


@pytest.mark.parametrize("name", ["assess", "data scan", "iam audit", "detect"])
def test_the_width_comes_from_the_terminal_when_columns_is_not_set(name: str, secrets_tree: Path) -> None:
    code, out = in_terminal([*commands(secrets_tree)[name], "--no-color"], columns=72)
    assert code == 0, out
    assert_fits(out, 72)
    assert not ESCAPE.search(out)


def test_columns_overrides_the_terminal_width(secrets_tree: Path) -> None:
    _, out = in_terminal(commands(secrets_tree)["assess"], columns=200, env={"COLUMNS": "90", "NO_COLOR": "1"})
    assert_fits(out, 90)
    assert max(len(line) for line in lines_of(out)) > 80  # it does use the room it has


def test_a_terminal_gets_colour_unless_told_not_to(secrets_tree: Path) -> None:
    _, coloured = in_terminal(commands(secrets_tree)["assess"])
    assert ESCAPE.search(coloured)  # the severity column is coloured on a terminal
    _, flag_first = in_terminal(["--no-color", *commands(secrets_tree)["assess"]])
    assert not ESCAPE.search(flag_first)


def test_an_empty_no_color_does_not_turn_colour_off(secrets_tree: Path) -> None:
    """no-color.org: only a NO_COLOR with a value counts."""
    _, out = in_terminal(commands(secrets_tree)["assess"], env={"NO_COLOR": ""})
    assert ESCAPE.search(out)


def test_the_check_catalog_fits_the_terminal_without_colour() -> None:
    code, out = in_terminal(["checks", "list", "--no-color"])
    assert code == 0
    assert "CNSEC-K8S-001" in out
    assert not ESCAPE.search(out)
    assert_fits(out)


def test_detect_with_no_input_on_a_terminal_prints_usage_instead_of_waiting() -> None:
    code, out = in_terminal(["detect", "--fail-on", "none"])  # would block on the terminal before
    assert code == 2
    assert out.startswith("usage: cnsec detect")
    assert "no input" in out and "Traceback" not in out


def test_detect_still_reads_events_piped_on_stdin() -> None:
    code, out = in_terminal(["detect", "--fail-on", "none", "-f", "table"], stdin=AUDIT_LOG.read_bytes(),
                            env={"NO_COLOR": "1"})
    assert code == 0, out
    assert "CNSEC-DET-K8S-001" in out


def test_the_rule_list_fits_the_terminal_and_keeps_rule_ids_whole() -> None:
    code, out = in_terminal(["rules", "list"], env={"NO_COLOR": "1"})
    assert code == 0
    assert_fits(out)
    assert "CNSEC-DET-AWS-001 " in out  # the id is what a reader greps for: it is not cut at 80 columns
