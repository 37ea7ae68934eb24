"""Data security: keys, envelope encryption, file and per-value encryption, secret scanning.

The public face other pillars may import (tests/test_architecture.py): the assess checks look for
secrets in manifests, Dockerfiles and Terraform with the secret scanner's own detectors, and judge
crypto settings with the same catalog of weak algorithms, so both pillars agree on what a secret and
what weak crypto is. Loaded on first use (:mod:`cnsec.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "SecretHit": "scan", "key_parts": "scan", "scan_text": "scan", "scan_value": "scan",
    "legacy_tls_suites": "crypto.weak", "weak_crypto_settings": "crypto.weak",
}

__all__ = ["SecretHit", "key_parts", "legacy_tls_suites", "scan_text", "scan_value", "weak_crypto_settings"]

if TYPE_CHECKING:
    from cnsec.data.crypto.weak import legacy_tls_suites, weak_crypto_settings
    from cnsec.data.scan import SecretHit, key_parts, scan_text, scan_value

__getattr__ = exports(__name__, _WHERE)
