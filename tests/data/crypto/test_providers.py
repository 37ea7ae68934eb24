from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cnsec.data.crypto.errors import ProviderUnavailableError, TamperedHeaderError, WrongKeyError
from cnsec.data.crypto.providers import (
    AwsKms,
    RsaIdentity,
    RsaRecipient,
    Unwrappers,
    VaultTransit,
    X25519Identity,
    X25519Recipient,
    bech32_decode,
    bech32_encode,
    load_identity,
    load_recipient,
    x25519_identity_string,
    x25519_recipient_string,
)
from cnsec.data.crypto.stream import open_bytes, seal_bytes
from cnsec.errors import UsageError


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def test_x25519_recipient_round_trip() -> None:
    identity = X25519PrivateKey.generate()
    sealed = seal_bytes(b"shared secret", [X25519Recipient(identity.public_key())])
    assert open_bytes(sealed, Unwrappers([X25519Identity(identity)])) == b"shared secret"


def test_other_x25519_identity_is_a_wrong_key() -> None:
    sealed = seal_bytes(b"x", [X25519Recipient(X25519PrivateKey.generate().public_key())])
    with pytest.raises(WrongKeyError, match="x25519 recipient"):
        open_bytes(sealed, Unwrappers([X25519Identity(X25519PrivateKey.generate())]))


def test_rsa_oaep_recipient_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    sealed = seal_bytes(b"for rsa", [RsaRecipient(rsa_key.public_key())])
    assert open_bytes(sealed, Unwrappers([RsaIdentity(rsa_key)])) == b"for rsa"


def test_rsa_keys_below_3072_bits_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(UsageError, match="at least 3072"):
        RsaRecipient(small.public_key())


def test_several_recipients_each_open_the_same_file(rsa_key: rsa.RSAPrivateKey) -> None:
    x = X25519PrivateKey.generate()
    sealed = seal_bytes(b"both", [X25519Recipient(x.public_key()), RsaRecipient(rsa_key.public_key())])
    assert open_bytes(sealed, Unwrappers([X25519Identity(x)])) == b"both"
    assert open_bytes(sealed, Unwrappers([RsaIdentity(rsa_key)])) == b"both"


def test_age_encoding_round_trips_and_uses_age_prefixes() -> None:
    key = X25519PrivateKey.generate()
    recipient = x25519_recipient_string(key.public_key())
    identity = x25519_identity_string(key)
    assert recipient.startswith("age1") and identity.startswith("AGE-SECRET-KEY-1")
    assert bech32_decode(recipient) == ("age", key.public_key().public_bytes_raw())


def test_bech32_rejects_a_typo() -> None:
    text = bech32_encode("age", bytes(range(32)))
    typo = text[:-1] + ("q" if text[-1] != "q" else "p")
    with pytest.raises(ValueError, match="checksum"):
        bech32_decode(typo)


def test_bech32_matches_bip173_test_vector() -> None:
    # BIP-173 valid string: "a12uel5l" is hrp "a" with empty data
    assert bech32_decode("A12UEL5L") == ("a", b"")


def test_recipient_and_identity_files_load(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    x = X25519PrivateKey.generate()
    (tmp_path / "id.txt").write_text(f"# comment\n{x25519_identity_string(x)}\n")
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "pub.pem").write_bytes(pem)
    assert isinstance(load_identity(str(tmp_path / "id.txt")), X25519Identity)
    assert isinstance(load_recipient(x25519_recipient_string(x.public_key())), X25519Recipient)
    assert isinstance(load_recipient(str(tmp_path / "pub.pem")), RsaRecipient)


def test_tampered_rsa_stanza_is_a_tampered_header(rsa_key: rsa.RSAPrivateKey) -> None:
    identity = RsaIdentity(rsa_key)
    recipient = RsaRecipient(rsa_key.public_key())
    stanza = recipient.wrap(os.urandom(32), b"object")
    with pytest.raises(TamperedHeaderError):
        identity.unwrap(stanza, b"another object")


class FakeTransit:
    """Stands in for hvac's ``client.secrets.transit`` with real AES-GCM, to test our adapter."""

    def __init__(self) -> None:
        self.key = AESGCM(os.urandom(32))

    def encrypt_data(self, name: str, plaintext: str, mount_point: str) -> dict[str, Any]:
        nonce = os.urandom(12)
        blob = base64.b64encode(nonce + self.key.encrypt(nonce, base64.b64decode(plaintext), name.encode()))
        return {"data": {"ciphertext": "vault:v1:" + blob.decode()}}

    def decrypt_data(self, name: str, ciphertext: str, mount_point: str) -> dict[str, Any]:
        raw = base64.b64decode(ciphertext.split(":", 2)[2])
        plain = self.key.decrypt(raw[:12], raw[12:], name.encode())
        return {"data": {"plaintext": base64.b64encode(plain).decode()}}


class FakeVaultClient:
    def __init__(self) -> None:
        self.secrets = type("S", (), {"transit": FakeTransit()})()


def test_vault_transit_adapter_wraps_and_unwraps() -> None:
    provider = VaultTransit("app", client=FakeVaultClient())
    sealed = seal_bytes(b"via vault", [provider])
    assert b"vault:v1:" in sealed
    assert open_bytes(sealed, Unwrappers([provider])) == b"via vault"


def test_vault_failure_is_a_wrong_key_not_a_traceback() -> None:
    sealed = seal_bytes(b"x", [VaultTransit("app", client=FakeVaultClient())])
    with pytest.raises(WrongKeyError, match="Vault transit key 'app'"):
        open_bytes(sealed, Unwrappers([VaultTransit("app", client=FakeVaultClient())]))


def test_vault_unconfigured_says_what_to_set() -> None:
    provider = VaultTransit("app", env={})
    with pytest.raises(ProviderUnavailableError, match="vault"):
        seal_bytes(b"x", [provider])


class FakeKms:
    def __init__(self) -> None:
        self.key = AESGCM(os.urandom(32))

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict[str, str]) -> dict[str, Any]:
        nonce = os.urandom(12)
        aad = (KeyId + repr(sorted(EncryptionContext.items()))).encode()
        return {"CiphertextBlob": nonce + self.key.encrypt(nonce, Plaintext, aad)}

    def decrypt(self, CiphertextBlob: bytes, KeyId: str, EncryptionContext: dict[str, str]) -> dict[str, Any]:
        aad = (KeyId + repr(sorted(EncryptionContext.items()))).encode()
        return {"Plaintext": self.key.decrypt(CiphertextBlob[:12], CiphertextBlob[12:], aad)}


def test_aws_kms_adapter_binds_the_object_as_encryption_context() -> None:
    kms = FakeKms()
    provider = AwsKms("arn:aws:kms:eu-west-1:1:key/x", client=kms)
    sealed = seal_bytes(b"via kms", [provider])
    assert open_bytes(sealed, Unwrappers([provider])) == b"via kms"
    stanza = provider.wrap(os.urandom(32), b"object-a")
    with pytest.raises(WrongKeyError, match="AWS KMS"):
        provider.unwrap(stanza, b"object-b")


def test_real_vault_transit_round_trip() -> None:
    if not os.environ.get("VAULT_ADDR") or not os.environ.get("CNSEC_TEST_VAULT_KEY"):
        pytest.skip("Vault not configured (set VAULT_ADDR, VAULT_TOKEN and CNSEC_TEST_VAULT_KEY)")
    pytest.importorskip("hvac", reason="hvac not installed (pip install 'cnsec[vault]')")
    provider = VaultTransit(os.environ["CNSEC_TEST_VAULT_KEY"])
    assert open_bytes(seal_bytes(b"v", [provider]), Unwrappers([provider])) == b"v"


def test_real_aws_kms_round_trip() -> None:
    if not os.environ.get("CNSEC_TEST_KMS_KEY"):
        pytest.skip("AWS KMS not configured (set CNSEC_TEST_KMS_KEY and AWS credentials)")
    pytest.importorskip("boto3", reason="boto3 not installed (pip install 'cnsec[aws]')")
    provider = AwsKms(os.environ["CNSEC_TEST_KMS_KEY"])
    assert open_bytes(seal_bytes(b"k", [provider]), Unwrappers([provider])) == b"k"


class _Refusing:
    """A remote KMS that refuses every call, as a denied IAM policy or a sealed Vault would."""

    def encrypt(self, **_: Any) -> dict[str, Any]:
        raise PermissionError("AccessDenied: secret-looking SDK text")


def test_kms_wrap_failure_names_the_key_not_the_sdk_message() -> None:
    with pytest.raises(WrongKeyError, match=r"AWS KMS key 'k' could not wrap: PermissionError$"):
        AwsKms("k", client=_Refusing()).wrap(os.urandom(32), b"object")
