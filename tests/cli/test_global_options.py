"""The options every command takes (``--no-color``, ``-q``, ``-v``, ``--debug``), before or after the
command's name; and what a run says when cnsec itself fails rather than the user."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec import cli
from cnsec.cli import main
from tests.assess.test_assess_cli import PRIVILEGED_POD


@pytest.fixture
def deploy(tmp_path: Path) -> Path:
    """A manifest with a finding, and the project's configuration beside it."""
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "pod.yaml").write_text(PRIVILEGED_POD)
    (root / ".cnsec.yaml").write_text("allowed_registries: [registry.example.com]\n")
    return root


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_is_taken_before_or_after_the_command_and_silences_notices(
        where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("no manifests here\n")
    argv = ["assess", str(tmp_path), "-f", "json", "--fail-on", "none"]
    argv = ["-q", *argv] if where == "before" else [*argv, "-q"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    assert main(argv[1:] if where == "before" else argv[:-1]) == 0
    assert "no Kubernetes, Dockerfile or Terraform files found" in capsys.readouterr().err


def test_quiet_still_prints_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.yaml").write_text("kind: Pod\nmetadata: [unclosed\n")
    main(["-q", "assess", str(tmp_path), "-f", "json", "--fail-on", "none"])
    assert "broken.yaml:" in capsys.readouterr().err


def test_verbose_says_which_configuration_file_was_used_and_how_long_it_took(
        deploy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["assess", str(deploy), "-v", "-f", "json", "--fail-on", "none"])
    err = capsys.readouterr().err
    assert f"configuration: {deploy / '.cnsec.yaml'}" in err
    assert "done in " in err
    main(["data", "scan", str(deploy), "-v", "-f", "json", "--fail-on", "none"])
    assert "configuration: " in capsys.readouterr().err


def test_without_verbose_nothing_about_the_configuration_is_said(deploy: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    main(["assess", str(deploy), "-f", "json", "--fail-on", "none"])
    assert "configuration:" not in capsys.readouterr().err


def test_every_command_takes_the_global_options() -> None:
    """Each leaf parser at every depth knows them (argparse gives sub-parsers their parent's class)."""
    parser = cli.build_parser()
    seen = 0
    stack = [parser]
    while stack:
        p = stack.pop()
        seen += 1
        for flag in ("--no-color", "-q", "--quiet", "-v", "--verbose", "--debug"):
            assert flag in p._option_string_actions, (p.prog, flag)
        for action in p._actions:
            if action.choices and isinstance(action.choices, dict):
                stack += list(action.choices.values())
    assert seen > 40


def test_an_internal_error_is_one_line_without_debug_and_a_traceback_with_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.assess import engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in cnsec")

    monkeypatch.setattr(engine, "assess", broken)
    assert main(["assess", str(tmp_path)]) == cli.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: a bug in cnsec" in err and "--debug" in err
    assert "Traceback" not in err
    with pytest.raises(RuntimeError, match="a bug in cnsec"):
        main(["--debug", "assess", str(tmp_path)])


def test_a_user_mistake_gets_no_traceback_even_with_debug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(tmp_path / "missing"), "--debug", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "configuration file not found" in capsys.readouterr().err


def test_verbose_names_the_iam_store_without_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CNSEC_DB", f"sqlite:///{tmp_path / 'iam.db'}")
    main(["iam", "init", "-v"])
    assert f"cnsec: store: sqlite:///{tmp_path / 'iam.db'}" in capsys.readouterr().err
    main(["-v", "iam", "users", "list", "--db", "postgresql://cnsec:hunter2secret@127.0.0.1:1/cnsec"])
    err = capsys.readouterr().err
    assert "cnsec: store: postgresql+psycopg://cnsec:***@127.0.0.1:1/cnsec" in err and "hunter2secret" not in err
