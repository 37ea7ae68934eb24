"""HTTPS: a real TLS handshake with uvicorn on loopback, HSTS, and the session cookie made Secure and
``__Host-`` under TLS; bad TLS options are a clear exit 2."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from tests.serve.conftest import GOOD_PW
from tests.serve.live import serving

REPO = Path(__file__).resolve().parents[2]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A P-256 certificate for 127.0.0.1 and localhost, made for this test run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cnsec test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_the_server_speaks_https_with_hsts_and_a_secure_host_only_session_cookie(
        serve_ctx: ServeContext, role_users: dict[str, str], tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    settings = Settings(db_url=serve_ctx.settings.db_url, tls_cert=str(cert), tls_key=str(key))
    ctx = ServeContext(settings, serve_ctx.engine, serve_ctx.iam, serve_ctx.tokens)
    trust = ssl.create_default_context(cafile=str(cert))
    with serving(create_app(context=ctx), settings) as base:
        assert base.startswith("https://127.0.0.1:")
        with httpx.Client(base_url=base, verify=trust) as c:
            health = c.get("/healthz")
            login = c.post("/v1/session", json={"username": "viewer", "password": GOOD_PW})
            whoami = c.get("/v1/session")
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate stops
            httpx.get(f"{base}/healthz")
        with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP to the TLS port gets no answer
            httpx.get(base.replace("https://", "http://") + "/healthz")
    assert health.status_code == 200 and health.http_version == "HTTP/1.1"
    assert health.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("__Host-cnsec=")
    attrs = {a.strip().lower() for a in cookie.split(";")}
    assert {"secure", "httponly", "path=/", "samesite=strict"} <= attrs
    assert not any(a.startswith("domain=") for a in attrs)  # __Host- forbids it
    assert whoami.json()["via"] == "session"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "cnsec", "serve", "--db", f"sqlite:///{tmp_path / 's.db'}",
                           "--port", str(_free_port()), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_a_certificate_without_its_key_is_a_usage_error(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    out = _serve(tmp_path, "--tls-cert", str(cert))
    assert out.returncode == 2 and "--tls-cert and --tls-key go together" in out.stderr


@pytest.mark.parametrize("broken", ["missing", "not-pem", "wrong-key"])
def test_unusable_tls_files_are_one_clear_line_and_exit_2(tmp_path: Path, broken: str) -> None:
    cert, key = self_signed(tmp_path)
    if broken == "missing":
        key = tmp_path / "nowhere.key"
    elif broken == "not-pem":
        key.write_text("this is not a key\n")
    else:
        other = tmp_path / "other"
        other.mkdir()
        _, key = self_signed(other)
    out = _serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("cnsec: cannot ") and ("tls" in last.lower() or "No such file" in last)
