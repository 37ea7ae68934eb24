"""``cnsec completion SHELL``: the generated scripts complete sub-commands, options and option values
at every depth, run by the real shells (bash always; zsh and fish where installed, as `make test` does)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CNSEC = str(Path(sys.executable).with_name("cnsec"))


def generated(shell: str) -> str:
    proc = subprocess.run([CNSEC, "completion", shell], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def bash_complete(script: Path, line: str) -> list[str]:
    """What bash's programmable completion offers for the last word of ``line`` (the cursor at its end)."""
    words = line.split(" ")
    array = " ".join("'" + w + "'" for w in words)
    probe = (f"source {script}\nCOMP_WORDS=({array})\nCOMP_CWORD={len(words) - 1}\n"
             "_cnsec\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    proc = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "cnsec.bash"
    path.write_text(generated("bash"))
    return path


def test_bash_completes_the_top_level_commands(bash_script: Path) -> None:
    assert {"assess", "iam", "data", "detect", "respond", "completion"} <= set(bash_complete(bash_script, "cnsec "))
    assert bash_complete(bash_script, "cnsec as") == ["assess"]


def test_bash_completes_sub_commands_at_any_depth(bash_script: Path) -> None:
    assert "users" in bash_complete(bash_script, "cnsec iam u")
    assert {"add", "list"} <= set(bash_complete(bash_script, "cnsec iam users "))
    assert "rotate" in bash_complete(bash_script, "cnsec data keys r")


def test_bash_completes_the_options_of_the_command_being_typed(bash_script: Path) -> None:
    offered = bash_complete(bash_script, "cnsec assess --fa")
    assert offered == ["--fail-on"]
    assert "--staged" in bash_complete(bash_script, "cnsec data scan --st")


def test_bash_completes_the_values_an_option_takes(bash_script: Path) -> None:
    assert set(bash_complete(bash_script, "cnsec assess -f ")) >= {"table", "json", "sarif", "markdown"}
    assert bash_complete(bash_script, "cnsec assess --fail-on hi") == ["high"]


def test_bash_skips_options_and_their_values_when_finding_the_command(bash_script: Path) -> None:
    assert "--staged" in bash_complete(bash_script, "cnsec --debug data scan --st")


def test_bash_falls_back_to_file_names_for_a_path_argument(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "deploy-prod.yaml").write_text("")
    offered = bash_complete(bash_script, f"cnsec assess {tmp_path}/deploy-")
    assert offered == [f"{tmp_path}/deploy-prod.yaml"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (make test installs it)")
def test_fish_completes_commands_options_and_values(tmp_path: Path) -> None:
    script = tmp_path / "cnsec.fish"
    script.write_text(generated("fish"))

    def complete(line: str) -> list[str]:
        proc = subprocess.run(["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert "users" in complete("cnsec iam u")
    assert {"add", "list"} <= set(complete("cnsec iam users "))
    assert "--fail-on" in complete("cnsec assess --fa")
    assert "high" in complete("cnsec assess --fail-on ")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (make test installs it)")
def test_zsh_completes_through_bashcompinit(tmp_path: Path) -> None:
    script = tmp_path / "_cnsec"
    script.write_text(generated("zsh"))
    # bashcompinit calls the function with ksharrays set (0-based arrays, as in bash): so does this probe
    probe = (f"autoload -U compinit && compinit -u; source {script}; setopt ksharrays; "
             "COMP_WORDS=(cnsec iam users ''); COMP_CWORD=3; _cnsec; print -l -- ${COMPREPLY[@]}")
    proc = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert {"add", "list"} <= set(proc.stdout.split())


def test_every_script_names_every_command_of_the_parser() -> None:
    from cnsec.cli import build_parser
    from cnsec.completion import tree

    root = tree(build_parser())
    for shell in ("bash", "zsh", "fish"):
        text = generated(shell)
        for name in root.children:
            assert name in text, f"{shell} script lacks {name}"
