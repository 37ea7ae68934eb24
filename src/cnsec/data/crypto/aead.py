"""AES-GCM with cnsec's nonce policy: 96-bit nonces and 128-bit tags, nothing else accepted.

Key wrapping and per-value sealing go through here (the stream format calls ``AESGCM`` directly on
preallocated buffers for speed, with the same policy), and the Wycheproof vectors are run through it.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cnsec.data.crypto.errors import TamperedDataError

NONCE = 12
TAG = 16


def seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes | None, nonce: bytes | None = None) -> bytes:
    """``nonce || ciphertext || tag`` with a fresh random nonce (``nonce`` only for known-answer tests)."""
    nonce = os.urandom(NONCE) if nonce is None else nonce
    if len(nonce) != NONCE:
        raise ValueError("AES-GCM nonces are 96 bits in cnsec")
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def open_(key: bytes | AESGCM, nonce: bytes, sealed: bytes, aad: bytes | None) -> bytes:
    """Decrypt ``sealed`` (ciphertext || tag); any failure is one :class:`TamperedDataError`."""
    if len(nonce) != NONCE or len(sealed) < TAG:
        raise TamperedDataError("malformed AES-GCM input (nonce must be 96 bits, tag 128 bits)")
    try:
        aead = key if isinstance(key, AESGCM) else AESGCM(key)
        return aead.decrypt(nonce, sealed, aad)
    except (InvalidTag, ValueError):
        raise TamperedDataError("AES-GCM authentication failed") from None


def open_blob(key: bytes | AESGCM, blob: bytes, aad: bytes | None) -> bytes:
    """Inverse of :func:`seal`."""
    return open_(key, blob[:NONCE], blob[NONCE:], aad)
