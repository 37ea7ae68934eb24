"""Project Wycheproof vectors through cnsec's own AEAD, key-wrapping and KDF code paths.

Only the algorithms cnsec uses are run: it seals with AES-256-GCM alone, so e.g. the ChaCha20-Poly1305
vectors have no cnsec code path to test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from cnsec.data.crypto import aead
from cnsec.data.crypto._util import hkdf
from cnsec.data.crypto.errors import CryptoError
from cnsec.data.crypto.providers import rsa_oaep_unwrap, x25519_shared

pytestmark = pytest.mark.corpus

VECTORS = Path(__file__).resolve().parents[3] / "../shared/corpora/crypto/wycheproof/testvectors_v1"


def _load(name: str) -> dict[str, Any]:
    path = VECTORS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"Wycheproof corpus not found at {VECTORS} (../shared/corpora is absent)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_aes_gcm_vectors_through_cnsec_aead() -> None:
    data = _load("aes_gcm_test")
    checked = 0
    for group in data["testGroups"]:
        for case in group["tests"]:
            key, iv, aad = _h(case["key"]), _h(case["iv"]), _h(case["aad"])
            sealed = _h(case["ct"]) + _h(case["tag"])
            policy_ok = len(iv) == aead.NONCE and len(_h(case["tag"])) == aead.TAG
            if case["result"] == "valid":
                if not policy_ok:
                    continue  # cnsec only ever uses 96-bit nonces and 128-bit tags
                assert aead.open_(key, iv, sealed, aad) == _h(case["msg"]), case["tcId"]
                assert aead.seal(key, _h(case["msg"]), aad, nonce=iv) == iv + sealed, case["tcId"]
            else:
                with pytest.raises(CryptoError):
                    aead.open_(key, iv, sealed, aad)
            checked += 1
    assert checked >= 200


def test_rsa_oaep_sha256_vectors_through_cnsec_unwrap() -> None:
    checked = 0
    for name in ("rsa_oaep_2048_sha256_mgf1sha256_test", "rsa_oaep_3072_sha256_mgf1sha256_test"):
        data = _load(name)
        for group in data["testGroups"]:
            from cryptography.hazmat.primitives import serialization

            private = serialization.load_der_private_key(_h(group["privateKeyPkcs8"]), password=None)
            assert isinstance(private, rsa.RSAPrivateKey)
            for case in group["tests"]:
                ct, label = _h(case["ct"]), _h(case["label"])
                if case["result"] == "valid":
                    assert rsa_oaep_unwrap(private, ct, label) == _h(case["msg"]), case["tcId"]
                elif case["result"] == "invalid":
                    with pytest.raises(CryptoError):
                        rsa_oaep_unwrap(private, ct, label)
                checked += 1
    assert checked >= 70


def test_x25519_vectors_through_cnsec_shared_secret() -> None:
    data = _load("x25519_test")
    checked = 0
    for group in data["testGroups"]:
        for case in group["tests"]:
            private = X25519PrivateKey.from_private_bytes(_h(case["private"]))
            public, shared = _h(case["public"]), _h(case["shared"])
            if case["result"] == "valid":
                assert x25519_shared(private, public) == shared, case["tcId"]
            elif case["result"] == "invalid":
                with pytest.raises(CryptoError):
                    x25519_shared(private, public)
            else:  # acceptable: either the standard result or a refusal (all-zero / low order)
                try:
                    assert x25519_shared(private, public) == shared, case["tcId"]
                except CryptoError:
                    assert shared == bytes(32) or len(public) != 32
            checked += 1
    assert checked > 500


def test_hkdf_sha256_vectors_through_cnsec_hkdf() -> None:
    data = _load("hkdf_sha256_test")
    checked = 0
    for group in data["testGroups"]:
        for case in group["tests"]:
            args = (_h(case["ikm"]), _h(case["salt"]), _h(case["info"]), case["size"])
            if case["result"] == "valid":
                assert hkdf(*args) == _h(case["okm"]), case["tcId"]
            else:
                with pytest.raises(ValueError):
                    hkdf(*args)
            checked += 1
    assert checked == 86

