from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.config.weak_crypto import text_hits
from cnsec.model.severity import Severity


@check(
    id="CNSEC-CFG-002",
    title="Legacy TLS cipher suites enabled (CBC, no forward secrecy)",
    severity=Severity.LOW,
    target="files",
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation="Offer only ECDHE suites with AEAD ciphers (TLS_ECDHE_*_WITH_AES_*_GCM_*, "
                "TLS_ECDHE_*_WITH_CHACHA20_POLY1305*) and TLS 1.3; drop the CBC and TLS_RSA_WITH_* suites.",
)
def legacy_tls_suites(inv: Any, ctx: Any) -> Iterator[Hit]:
    """TLS CBC suites are not "CBC without a MAC": each record carries an HMAC, but MAC-then-encrypt
    has a long record of padding-oracle and timing attacks (Lucky13, POODLE against TLS) that only
    careful constant-time code avoids; suites with static RSA key exchange (``TLS_RSA_WITH_…``) have no
    forward secrecy, so a server key that leaks later decrypts every recorded session. Both are
    legacy, not broken, hence low severity; RC4, DES and 3DES suites are CNSEC-CFG-001. The detection
    is the data-security pillar's (``cnsec.data.crypto.weak``)."""
    from cnsec.data import legacy_tls_suites as detect

    yield from text_hits(inv, detect)
