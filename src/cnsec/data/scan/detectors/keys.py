# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Private keys and signed tokens: PEM blocks, JWT, JWK, age and NATS nkey seeds."""

from __future__ import annotations

import base64
import binascii

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import B, E, jwt_structure, pem_body
from cnsec.model.severity import Severity as S

_PEM_EXAMPLE = ("-----BEGIN RSA PRIVATE KEY-----\nMIICXQIBAAKBgQDwcEN7vZygGg6DvPpsw17hRD6S5N8+huaqs1JGXQfPhbvLTUsH\n"
                "dzGLVNQ/Z0wQVGdWuRIzX77P7oVKM2CoTA6VzT6s/bvr7HxFLl4NhohfyDsV0YCD\n-----END RSA PRIVATE KEY-----")


def _b64_pem(value: str) -> bool:
    try:
        raw = base64.b64decode(value[: len(value) - len(value) % 4], validate=False)
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY" in raw and b"ENCRYPTED" not in raw


DETECTORS = (
    Detector(
        id="private-key", title="Private key (PEM)", severity=S.CRITICAL, keywords=("private key",),
        pattern=r"(?s)(?P<secret>-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----.{20,}?"
                r"-----END[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----)",
        extra_lines=120, validate=pem_body,
        description="An RSA, EC, DSA, OpenSSH, PKCS#8 or PGP private key block (unencrypted).",
        examples=(_PEM_EXAMPLE,),
        counter_examples=("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,1\n\n"
                          "MIICXQIBAAKBgQDwcEN7vZygGg6DvPpsw17hRD6S5N8+huaqs1JGXQfPhbvLTUsH\n"
                          "-----END RSA PRIVATE KEY-----",)),
    Detector(
        id="private-key-base64", title="Base64-encoded private key (PEM)", severity=S.CRITICAL,
        keywords=("ls0tls1crudjtia", "ls0tls1crudjti"),
        pattern=r"(?P<secret>LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,}={0,2})", validate=_b64_pem, reveal=0,
        examples=("key: " + base64.b64encode(_PEM_EXAMPLE.encode()).decode(),)),
    Detector(
        id="jwt", title="JSON Web Token", severity=S.MEDIUM, keywords=("eyj",),
        pattern=B + r"(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{10,})" + E,
        validate=jwt_structure, reveal=3,
        description="A signed JWT (header decodes to JSON with alg/typ): a bearer credential until it expires.",
        examples=("detected: eyJhbGciOiJSUzI1NiJ9Cg.eyJleHAiOjY1NTM2fQo.Ce7sh0ENPiBlE_dose0cBA",),
        counter_examples=("eyJub3RhIjoiand0In0.eyJleHAiOjY1NTM2fQo.Ce7sh0ENPiBlE_dose0cBA",)),
    Detector(
        id="jwk-private", title="JSON Web Key private member", severity=S.HIGH, keywords=('"d"', '"k"'),
        pattern=r"\"[dk]\"\s*:\s*\"(?P<secret>[A-Za-z0-9_\-]{20,})\"", min_entropy=3.5,
        examples=('"d": "slaQqyHQPudOpq2mbDskum8rOu9IMkLGjINAFWwfqr-"',)),
    Detector(
        id="age-secret-key", title="age encryption secret key", severity=S.CRITICAL, keywords=("age-secret-key-1",),
        pattern=B + r"(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})" + E, reveal=15,
        examples=("AGE-SECRET-KEY-1KZYHJJGJ5DEC3RXGPEUA97WG99HU4Z3Z9ZK69GHAFZWJ08SFVF0QZ3WFSS",)),
    Detector(
        id="nkey-seed", title="NATS nkey seed", severity=S.HIGH, keywords=(), anchor=r"S[UONACPX][A-Z2-7]{56}",
        pattern=B + r"(?P<secret>S[UONACPX][A-Z2-7]{56})" + E, min_entropy=3.5, reveal=2,
        examples=("// SUAML2GCZ7IK7E7UD4VZ7ELPZW7DK2ZNL35WSMW3IORHC3BWBSDQXUQRBU",)),
)
