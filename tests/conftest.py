"""Fixtures every test folder shares."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cnsec.cli import main


@pytest.fixture
def run_cli(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., tuple[int, str, str]]:
    """Run ``cnsec ARGS`` in-process; returns (exit code, stdout, stderr).

    Output is captured as bytes (reports are written to ``sys.stdout.buffer``) and decoded with
    ``replace``, so a test sees exactly what reached the terminal.
    """

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsysbinary.readouterr()
        return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    return run
