"""Source snippets never show a private key, not even the tail of one that starts above the snippet
(issue #13: the last body line of an RSA or OpenSSH key showed next to another finding)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from cnsec.assess.engine import private_key_lines
from tests.assess.conftest import write


def _key(fmt: str) -> str:
    """A key made here and now: no fixture holds someone else's secret."""
    if fmt == "openssh":
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption()).decode()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()


@pytest.mark.parametrize("fmt", ["rsa", "openssh"])
def test_no_line_of_a_private_key_shows_in_a_markdown_snippet_of_the_next_finding(
        tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]], fmt: str) -> None:
    key = _key(fmt)
    manifest = textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
            - name: web
              image: nginx:1.27
              env:
                - name: TLS_KEY
                  value: |
        {key}
              securityContext: {{privileged: true, allowPrivilegeEscalation: true}}
        """).format(key=textwrap.indent(key.strip(), " " * 14))
    write(tmp_path / "pod.yaml", manifest)
    out_file = tmp_path / "report.md"
    run_cli("assess", str(tmp_path / "pod.yaml"), "-f", "markdown", "-o", str(out_file), "--fail-on", "none")
    report = out_file.read_text()
    assert "securityContext" in report  # the snippet around the privileged container is there
    body = [line.strip() for line in key.strip().splitlines()[1:-1]]
    assert body and not [line for line in body if line in report]


def test_key_block_lines_are_found_from_begin_to_end_and_nothing_else() -> None:
    lines = ["a: 1", "  key: |", "    -----BEGIN EC PRIVATE KEY-----", "    MHcCAQEE", "    oAoGCCqG==",
             "    -----END EC PRIVATE KEY-----", "b: 2", "c: -----BEGIN PRIVATE KEY-----", "  MIIB"]
    assert private_key_lines(lines) == {2: 4, 3: 4, 4: 4, 5: 4, 7: 3, 8: 2}
