"""Running the renderers: found where cnsec was installed, bounded in time and output, errors short."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cnsec.k8s.render import tools
from tests.k8s.render.conftest import DATA, Run


def test_a_renderer_beside_the_interpreter_is_found_before_one_on_path(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    venv_bin, path_bin = tmp_path / "venv-bin", tmp_path / "path-bin"
    for folder in (venv_bin, path_bin):
        folder.mkdir()
        (folder / "kubectl").write_text("#!/bin/sh\n")
        (folder / "kubectl").chmod(0o755)
    monkeypatch.delenv("CNSEC_KUBECTL", raising=False)
    monkeypatch.setenv("PATH", str(path_bin))
    monkeypatch.setattr(tools, "_scripts_dirs", lambda: [venv_bin])
    assert tools.find_tool("kubectl") == str(venv_bin / "kubectl")


def test_an_environment_variable_naming_a_missing_program_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNSEC_HELM", "/nonexistent/helm")
    assert tools.find_tool("helm") is None
    assert "CNSEC_HELM=/nonexistent/helm is not an executable file" in str(tools.missing("helm", "chart x"))


def test_a_renderer_that_runs_too_long_is_stopped_with_an_error() -> None:
    with pytest.raises(tools.RenderError, match=r"ran longer than 0\.5 s"):
        tools.run_tool([sys.executable, "-c", "import time; time.sleep(30)"], what="slow", timeout=0.5)


def test_a_renderer_that_prints_too_much_is_stopped_with_an_error() -> None:
    with pytest.raises(tools.RenderError, match="printed more than 1 MiB"):
        tools.run_tool([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"],
                       what="loud", max_output=1 << 20)


def test_kubectls_logged_error_becomes_its_message_on_one_line() -> None:
    stderr = ('E1207 04:00:17.201993   23961 run.go:72] "command failed" err="accumulating resources: '
              'accumulation err=\'accumulating resources from \\"x\\"\': no such file"\n')
    assert tools.reason(stderr) == "accumulating resources: accumulation err='accumulating resources from \"x\"': " \
                                   "no such file"


def test_helms_error_is_taken_whole_over_its_lines_and_not_the_hint_after_it() -> None:
    stderr = ('Error: subchart/templates/deployment.yaml:4:11\n  executing "subchart/templates/deployment.yaml" at '
              '<include "mychart.fullname" .>:\n    error calling include:\ntemplate: no template "mychart.fullname" '
              'associated with template "gotpl"\n\nUse --debug flag to render out invalid YAML\n')
    assert tools.reason(stderr) == ('subchart/templates/deployment.yaml:4:11 executing "subchart/templates/'
                                    'deployment.yaml" at <include "mychart.fullname" .>: error calling include: '
                                    'template: no template "mychart.fullname" associated with template "gotpl"')


def test_a_failing_renderer_gives_helms_error_line() -> None:
    code = "import sys; sys.stderr.write('walk.go:1 noise\\nError: chart requires kubeVersion\\n'); sys.exit(1)"
    with pytest.raises(tools.RenderError, match=r"^helm template c: chart requires kubeVersion$"):
        tools.run_tool([sys.executable, "-c", code], what="helm template c")


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "sarif"])
def test_a_templated_folder_that_is_neither_chart_nor_overlay_is_reported_skipped_in_every_format(
        run_cli: Run, fmt: str) -> None:
    folder = DATA / "templated"
    code, out, _ = run_cli("assess", str(folder), "-f", fmt)
    assert code == 2  # nothing assessed, and something skipped
    shown = os.path.join(str(folder), "deployment.yaml")
    if fmt == "sarif":
        notes = json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        assert any(n["level"] == "note" and "Go/Helm template" in n["message"]["text"] for n in notes)
    elif fmt == "json":
        assert json.loads(out)["skipped"][0]["file"] == shown
    else:
        assert "Go/Helm template" in out and "deployment.yaml" in out
