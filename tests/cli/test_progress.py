"""Progress on stderr for work that lasts: files for assess and the secret scan (with bytes), events
for detect; only when stderr is a terminal, never with -q, and gone before the report is shown."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.report.console import Progress
from tests.assess.test_assess_cli import PRIVILEGED_POD

AUDIT_LOG = Path(__file__).resolve().parents[1] / "detect" / "data" / "managed" / "gke-panther.jsonl"


class Terminal(io.StringIO):
    """stderr as a terminal 80 columns wide."""

    def isatty(self) -> bool:
        return True


def on_terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """stderr becomes a terminal, set in the test's own phase (pytest puts its capture back on
    sys.stderr between a fixture's setup and the test)."""
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(Progress, "DELAY", 0.0)  # the work here is short; a real run waits a second
    monkeypatch.setattr(Progress, "INTERVAL", 0.0)
    return err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for n in range(5):
        (tmp_path / f"pod{n}.yaml").write_text(PRIVILEGED_POD.replace("name: ", f"name: p{n}", 1))
    (tmp_path / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIA' + "QYLPMN5HHHFPZAM2" + '"\n')
    return tmp_path


def shown(err: str) -> list[str]:
    return [seg.strip() for seg in err.split("\r") if seg.strip().startswith("cnsec: ")]


def test_assess_shows_files_done_and_the_rate_then_clears_the_line(monkeypatch: pytest.MonkeyPatch,
                                                                   project: Path) -> None:
    terminal = on_terminal(monkeypatch)
    main(["assess", str(project), "-f", "json", "-o", str(project / "out.json"), "--fail-on", "none"])
    lines = shown(terminal.getvalue())
    assert lines[-1].startswith("cnsec: files 5/5, ") and "files/s" in lines[-1]  # the 5 manifests
    assert terminal.getvalue().endswith("\r" + " " * len(lines[-1]) + "\r")  # cleared when done
    assert all(len(line) < 80 for line in lines) and "\x1b" not in terminal.getvalue()


def test_the_secret_scan_shows_files_and_bytes(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    terminal = on_terminal(monkeypatch)
    main(["data", "scan", str(project), "-f", "json", "-o", str(project / "out.json"), "--fail-on", "none",
          "-j", "1"])
    last = shown(terminal.getvalue())[-1]
    assert last.startswith("cnsec: files 6/6, ") and " B/" in last and "/s" in last  # and settings.py


def test_detect_shows_events_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    terminal = on_terminal(monkeypatch)
    main(["detect", str(AUDIT_LOG), "-f", "json", "-o", str(tmp_path / "alerts.json"), "--fail-on", "none"])
    assert shown(terminal.getvalue())[-1].startswith("cnsec: events 3, ")


def test_quiet_shows_no_progress(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    terminal = on_terminal(monkeypatch)
    main(["-q", "assess", str(project), "-f", "json", "-o", str(project / "out.json"), "--fail-on", "none"])
    assert terminal.getvalue() == ""


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch, project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(Progress, "DELAY", 0.0)
    main(["assess", str(project), "-f", "json", "-o", str(project / "out.json"), "--fail-on", "none"])
    assert "files" not in capsys.readouterr().err


def test_a_short_run_shows_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminal(monkeypatch)
    monkeypatch.setattr(Progress, "DELAY", 60.0)  # after on_terminal's 0
    main(["assess", str(project), "-f", "json", "-o", str(project / "out.json"), "--fail-on", "none"])
    assert terminal.getvalue() == ""
