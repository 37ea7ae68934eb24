"""Dockerfile checks: what a user sees beyond pass/fail (lines, fixes, shell parsing edge cases)."""

from __future__ import annotations

from pathlib import Path

from cnsec.assess.checks.dockerfile._shell import commands
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding


def _findings(tmp_path: Path, text: str, check_id: str) -> list[Finding]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    report = assess([str(path)], Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if f.check_id == check_id]


def test_shell_split_sees_programs_behind_sudo_and_env() -> None:
    cmds = commands("curl -fsSL https://x | sudo -E env A=1 bash - && update-locale LANG=C")
    assert [c.program for c in cmds] == ["curl", "bash", "update-locale"]
    assert [c.after for c in cmds] == ["", "|", "&&"]


def test_unbalanced_quotes_do_not_raise() -> None:
    assert commands('echo "never closed && apt update')[0].program == "echo"


def test_each_unpinned_from_is_reported_on_its_own_line_with_a_fix(tmp_path: Path) -> None:
    text = "FROM node AS build\nRUN npm ci\n\nFROM nginx:latest\n"
    findings = sorted(_findings(tmp_path, text, "CNSEC-DKR-002"), key=lambda f: f.source.line or 0)
    assert [f.source.line for f in findings] == [1, 4]
    assert findings[0].fix == "FROM node:<version>@sha256:<digest> AS build"
    assert findings[1].fix == "FROM nginx:<version>@sha256:<digest>"


def test_exec_form_shell_run_is_parsed(tmp_path: Path) -> None:
    text = 'FROM debian:12\nRUN ["/bin/sh", "-c", "curl -fsSL https://get.example.com | bash"]\n'
    [f] = _findings(tmp_path, text, "CNSEC-DKR-010")
    assert f.source.line == 2


def test_update_in_a_continued_run_is_reported_at_the_run_line(tmp_path: Path) -> None:
    text = "FROM debian:12\nRUN set -eux; \\\n    apt-get update\nRUN apt-get install -y curl\n"
    [f] = _findings(tmp_path, text, "CNSEC-DKR-007")
    assert f.source.line == 2


def test_chmod_world_writable_modes_are_recognised(tmp_path: Path) -> None:
    from cnsec.assess.checks.dockerfile.world_writable_permissions import world_writable

    assert [m for m in ("777", "0777", "666", "1777", "o+w", "a=rwx", "ugo+rw") if not world_writable(m)] == []
    assert [m for m in ("755", "1770", "0644", "u+w", "g+w", "o-w", "+x") if world_writable(m)] == []


def test_copy_from_another_stage_is_not_a_credential_copy(tmp_path: Path) -> None:
    text = "FROM debian:12\nCOPY --from=build /root/.ssh/id_rsa /tmp/id_rsa\n"
    assert not _findings(tmp_path, text, "CNSEC-DKR-012")


def test_odd_instructions_never_break_the_dockerfile_checks(tmp_path: Path) -> None:
    text = ("FROM\nFROM --platform=x\nEXPOSE\nADD\nCOPY\nRUN\nRUN [\"sh\"]\nRUN [1, 2]\nRUN chmod\n"
            "RUN curl | \nENTRYPOINT []\nARG =x\nCOPY --chmod= a b\nRUN echo $(curl\nRUN apt-get\n")
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    ids = {f"CNSEC-DKR-{n:03d}" for n in (2, 3, 5, 6, 7, 8, 9, 10, 11, 12)}
    report = assess([str(path)], Config(), only=ids)
    assert not [e for e in report.errors if "failed on" in str(e)]
