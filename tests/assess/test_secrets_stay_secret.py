"""A credential found by an assessment never appears in any report format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.assess.conftest import write

SECRET = "Zq8-rT4vN2xL7pW9yB3m"
MANIFEST = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
spec:
  containers:
    - name: api
      image: acme/api:1.0
      env:
        - name: DB_PASSWORD
          value: {SECRET}
"""


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "table"])
def test_hardcoded_password_is_reported_redacted(tmp_path: Path, fmt: str,
                                                 run_cli: Callable[..., tuple[int, str, str]]) -> None:
    write(tmp_path / "pod.yaml", MANIFEST)
    code, out, err = run_cli("assess", str(tmp_path), "-f", fmt, "--checks", "CNSEC-K8S-029")
    assert code == 1
    assert "CNSEC-K8S-029" in out
    assert SECRET not in out and SECRET not in err


def test_baseline_of_a_secret_finding_holds_no_secret(tmp_path: Path,
                                                      run_cli: Callable[..., tuple[int, str, str]]) -> None:
    write(tmp_path / "in" / "pod.yaml", MANIFEST)
    baseline = tmp_path / "baseline.json"
    run_cli("assess", str(tmp_path / "in"), "-f", "json", "--write-baseline", str(baseline), "--fail-on", "none")
    assert "CNSEC-K8S-029" in baseline.read_text()
    assert SECRET not in baseline.read_text()


def test_snippets_of_other_findings_mask_the_secret_line(tmp_path: Path,
                                                         run_cli: Callable[..., tuple[int, str, str]]) -> None:
    write(tmp_path / "pod.yaml", MANIFEST)
    out_file = tmp_path / "report.md"
    run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "markdown", "-o", str(out_file), "--fail-on", "none")
    text = out_file.read_text()
    assert "value: ********" in text
    assert SECRET not in text
