"""Key providers: who wraps the per-object data key, and who can unwrap it again.

Each provider turns a data key (DEK) into a *stanza* (a small JSON object in the sealed header) and
back. The stanza records which key opens it (name + version + fingerprint, a recipient fingerprint,
a Vault or KMS key id) but never anything secret. Every wrap is bound to the object's random id (the
header salt) as AAD, OAEP label or KMS encryption context, so a stanza cannot be moved between files.

- ``local``: AES-256-GCM under a keyring key version (random 96-bit nonce).
- ``x25519``: ephemeral X25519 + HKDF-SHA256 + AES-256-GCM; keys use age's ``age1…`` /
  ``AGE-SECRET-KEY-1…`` encodings so ``age-keygen`` keys work.
- ``rsa-oaep-sha256``: RSA-OAEP with SHA-256 and MGF1-SHA-256, keys of at least 3072 bits.
- ``vault-transit`` (extra ``vault``, ``hvac``) and ``aws-kms`` (extra ``aws``, ``boto3``).
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from cnsec.data.crypto import aead
from cnsec.data.crypto._util import b64d, b64e, canonical_json, hkdf
from cnsec.data.crypto.errors import (
    CryptoError,
    ProviderUnavailableError,
    TamperedDataError,
    TamperedHeaderError,
    WrongKeyError,
)
from cnsec.data.crypto.keyring import Keyring
from cnsec.errors import InputError, UsageError
from cnsec.model.source import Source

Stanza = dict[str, Any]
MIN_RSA_BITS = 3072


class KeyWrapper(ABC):
    """Something that can seal a data key for one holder."""

    @abstractmethod
    def wrap(self, dek: bytes, object_id: bytes) -> Stanza: ...

    @abstractmethod
    def describe(self) -> str: ...


class KeyUnwrapper(ABC):
    """Something that can open stanzas of one type (and says which ones it can try)."""

    @abstractmethod
    def handles(self, stanza: Stanza) -> bool: ...

    @abstractmethod
    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes: ...


def _field(stanza: Stanza, name: str) -> Any:
    if name not in stanza:
        raise TamperedHeaderError(f"{stanza.get('type', '?')} key stanza lacks {name!r}")
    return stanza[name]


def _b64_field(stanza: Stanza, name: str) -> bytes:
    try:
        return b64d(_field(stanza, name))
    except ValueError:
        raise TamperedHeaderError(f"{stanza.get('type', '?')} key stanza has malformed {name!r}") from None


def _check_dek(dek: bytes) -> bytes:
    if len(dek) != 32:
        raise TamperedHeaderError("unwrapped data key has the wrong length")
    return dek


# -- local keyring -----------------------------------------------------------------------------
def _local_aad(name: str, version: int, object_id: bytes) -> bytes:
    return canonical_json({"type": "local", "key": name, "version": version, "object": b64e(object_id)})


class LocalKeyWrapper(KeyWrapper):
    def __init__(self, keyring: Keyring, name: str, version: int | None = None) -> None:
        key = keyring.get(name)
        self.name = name
        self.version = key.version(key.primary if version is None else version)

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        blob = aead.seal(self.version.material, dek, _local_aad(self.name, self.version.version, object_id))
        return {"type": "local", "key": self.name, "version": self.version.version,
                "fingerprint": self.version.fingerprint, "wrapped": b64e(blob)}

    def describe(self) -> str:
        return f"{self.name} v{self.version.version}"


class LocalKeyUnwrapper(KeyUnwrapper):
    """Opens ``local`` stanzas; the keyring is opened lazily, only when such a stanza is met."""

    def __init__(self, keyring: Keyring | Callable[[], Keyring]) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        if not isinstance(self._keyring, Keyring):
            self._keyring = self._keyring()
        return self._keyring

    def handles(self, stanza: Stanza) -> bool:
        return stanza.get("type") == "local"

    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes:
        name, number = _field(stanza, "key"), _field(stanza, "version")
        if not isinstance(name, str) or not isinstance(number, int) or isinstance(number, bool):
            raise TamperedHeaderError("local key stanza has malformed key or version")
        version = self.keyring.get(name).version(number)
        if version.fingerprint != _field(stanza, "fingerprint"):
            raise WrongKeyError(f"key {name!r} version {number} in this keyring is not the key the data "
                                f"was sealed with (fingerprint differs: another keyring?)")
        blob = _b64_field(stanza, "wrapped")
        try:
            return _check_dek(aead.open_blob(version.material, blob, _local_aad(name, number, object_id)))
        except TamperedDataError:
            raise TamperedHeaderError(f"the data key wrapped under {name!r} v{number} fails "
                                      f"authentication: the header was modified") from None


# -- X25519 (age key encoding) -----------------------------------------------------------------
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: Sequence[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: Sequence[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or (acc << (tobits - bits)) & maxv):
        raise ValueError("invalid padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    words = _convertbits(data, 8, 5, True)
    poly = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[w] for w in words + checksum)


def bech32_decode(text: str) -> tuple[str, bytes]:
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise ValueError("no separator")
    hrp, rest = text[:pos], text[pos + 1:]
    try:
        words = [_BECH32.index(c) for c in rest]
    except ValueError:
        raise ValueError("invalid character") from None
    if _polymod([*_hrp_expand(hrp), *words]) != 1:
        raise ValueError("bad checksum")
    return hrp, bytes(_convertbits(words[:-6], 5, 8, False))


def x25519_recipient_string(public: X25519PublicKey) -> str:
    return bech32_encode("age", public.public_bytes_raw())


def x25519_identity_string(private: X25519PrivateKey) -> str:
    return bech32_encode("age-secret-key-", private.private_bytes_raw()).upper()


def x25519_shared(private: X25519PrivateKey, public_bytes: bytes) -> bytes:
    """ECDH, refusing the all-zero result of a low-order public key."""
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(public_bytes))
    except ValueError:
        raise TamperedHeaderError("x25519 key stanza holds an invalid (low-order) public key") from None
    if shared == bytes(32):
        raise TamperedHeaderError("x25519 key stanza holds an invalid (low-order) public key")
    return shared


def _x25519_fp(public_bytes: bytes) -> str:
    return hashlib.sha256(b"cnsec x25519 recipient" + public_bytes).hexdigest()[:16]


def _x25519_wrap_key(shared: bytes, epk: bytes, rcpt: bytes) -> bytes:
    return hkdf(shared, epk + rcpt, b"cnsec/v1 x25519 wrap")


class X25519Recipient(KeyWrapper):
    def __init__(self, public: X25519PublicKey) -> None:
        self.public = public
        self.raw = public.public_bytes_raw()

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        ephemeral = X25519PrivateKey.generate()
        epk = ephemeral.public_key().public_bytes_raw()
        key = _x25519_wrap_key(x25519_shared(ephemeral, self.raw), epk, self.raw)
        blob = aead.seal(key, dek, b"cnsec/v1 x25519" + object_id)
        return {"type": "x25519", "recipient": _x25519_fp(self.raw), "epk": b64e(epk),
                "wrapped": b64e(blob)}

    def describe(self) -> str:
        return x25519_recipient_string(self.public)


class X25519Identity(KeyUnwrapper):
    def __init__(self, private: X25519PrivateKey) -> None:
        self.private = private
        self.raw_public = private.public_key().public_bytes_raw()

    def handles(self, stanza: Stanza) -> bool:
        return stanza.get("type") == "x25519" and stanza.get("recipient") == _x25519_fp(self.raw_public)

    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes:
        epk = _b64_field(stanza, "epk")
        blob = _b64_field(stanza, "wrapped")
        if len(epk) != 32:
            raise TamperedHeaderError("x25519 key stanza has a malformed ephemeral key")
        key = _x25519_wrap_key(x25519_shared(self.private, epk), epk, self.raw_public)
        try:
            return _check_dek(aead.open_blob(key, blob, b"cnsec/v1 x25519" + object_id))
        except TamperedDataError:
            raise TamperedHeaderError("the data key wrapped for the x25519 recipient fails "
                                      "authentication: the header was modified") from None


# -- RSA-OAEP-SHA256 ---------------------------------------------------------------------------
def _oaep(label: bytes | None) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                        label=label or None)


def rsa_oaep_unwrap(private: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    """OAEP-SHA256 decryption as every RSA stanza uses it; any failure is one error (no oracle)."""
    try:
        return private.decrypt(ciphertext, _oaep(label))
    except ValueError:
        raise TamperedHeaderError("the data key wrapped for the RSA recipient fails to decrypt: "
                                  "the header was modified") from None


def _rsa_fp(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def _rsa_label(object_id: bytes) -> bytes:
    return b"cnsec/v1 rsa-oaep " + object_id


class RsaRecipient(KeyWrapper):
    def __init__(self, public: rsa.RSAPublicKey) -> None:
        if public.key_size < MIN_RSA_BITS:
            raise UsageError(f"RSA recipient key has {public.key_size} bits; cnsec needs at least "
                             f"{MIN_RSA_BITS}")
        self.public = public

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        sealed = self.public.encrypt(dek, _oaep(_rsa_label(object_id)))
        return {"type": "rsa-oaep-sha256", "recipient": _rsa_fp(self.public), "wrapped": b64e(sealed)}

    def describe(self) -> str:
        return f"rsa-{self.public.key_size}:{_rsa_fp(self.public)}"


class RsaIdentity(KeyUnwrapper):
    def __init__(self, private: rsa.RSAPrivateKey) -> None:
        self.private = private
        self.fp = _rsa_fp(private.public_key())

    def handles(self, stanza: Stanza) -> bool:
        return stanza.get("type") == "rsa-oaep-sha256" and stanza.get("recipient") == self.fp

    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes:
        return _check_dek(rsa_oaep_unwrap(self.private, _b64_field(stanza, "wrapped"),
                                          _rsa_label(object_id)))


# -- HashiCorp Vault transit -------------------------------------------------------------------
@contextmanager
def _remote_key_errors(failure: str) -> Iterator[None]:
    """Vault's and KMS's SDKs raise many exception types, and their messages may echo request data:
    the user gets which key failed and the exception's type, never the SDK's text."""
    try:
        yield
    except CryptoError:
        raise
    except Exception as exc:
        raise WrongKeyError(f"{failure}: {type(exc).__name__}") from None


def _vault_client(env: Mapping[str, str]) -> Any:
    try:
        import hvac
    except ImportError:
        raise ProviderUnavailableError("Vault transit needs the 'vault' extra: pip install 'cnsec[vault]'") \
            from None
    if not env.get("VAULT_ADDR"):
        raise ProviderUnavailableError("Vault transit is not configured: set VAULT_ADDR and VAULT_TOKEN")
    return hvac.Client(url=env["VAULT_ADDR"], token=env.get("VAULT_TOKEN"))


class VaultTransit(KeyWrapper, KeyUnwrapper):
    """Vault's transit engine holds the KEK; cnsec sends it only the 32-byte data key."""

    def __init__(self, key: str, mount: str | None = None, client: Any = None,
                 env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.key = key
        self.mount = mount or env.get("CNSEC_VAULT_TRANSIT_MOUNT", "transit")
        self._client = client
        self._env = env

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _vault_client(self._env)
        return self._client

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        with _remote_key_errors(f"Vault transit key {self.key!r} could not wrap"):
            resp = self.client.secrets.transit.encrypt_data(name=self.key, plaintext=b64e(dek),
                                                            mount_point=self.mount)
            wrapped = resp["data"]["ciphertext"]
        return {"type": "vault-transit", "key": self.key, "mount": self.mount, "wrapped": wrapped}

    def handles(self, stanza: Stanza) -> bool:
        return stanza.get("type") == "vault-transit"

    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes:
        with _remote_key_errors(f"Vault transit key {stanza.get('key')!r} could not unwrap the data key"):
            resp = self.client.secrets.transit.decrypt_data(
                name=_field(stanza, "key"), ciphertext=_field(stanza, "wrapped"),
                mount_point=stanza.get("mount", self.mount))
            return _check_dek(b64d(resp["data"]["plaintext"]))

    def describe(self) -> str:
        return f"vault:{self.mount}/{self.key}"


# -- AWS KMS -----------------------------------------------------------------------------------
def _kms_client() -> Any:
    try:
        import boto3
    except ImportError:
        raise ProviderUnavailableError("AWS KMS needs the 'aws' extra: pip install 'cnsec[aws]'") from None
    return boto3.client("kms")


class AwsKms(KeyWrapper, KeyUnwrapper):
    """AWS KMS holds the KEK; the object id travels as KMS encryption context (logged by CloudTrail)."""

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _kms_client()
        return self._client

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        with _remote_key_errors(f"AWS KMS key {self.key_id!r} could not wrap"):
            resp = self.client.encrypt(KeyId=self.key_id, Plaintext=dek,
                                       EncryptionContext={"cnsec:object": b64e(object_id)})
        return {"type": "aws-kms", "key": self.key_id, "wrapped": b64e(resp["CiphertextBlob"])}

    def handles(self, stanza: Stanza) -> bool:
        return stanza.get("type") == "aws-kms"

    def unwrap(self, stanza: Stanza, object_id: bytes) -> bytes:
        blob = _b64_field(stanza, "wrapped")
        with _remote_key_errors(f"AWS KMS key {stanza.get('key')!r} could not unwrap the data key"):
            resp = self.client.decrypt(CiphertextBlob=blob, KeyId=_field(stanza, "key"),
                                       EncryptionContext={"cnsec:object": b64e(object_id)})
            return _check_dek(bytes(resp["Plaintext"]))

    def describe(self) -> str:
        return f"awskms:{self.key_id}"


class KeepStanza(KeyWrapper):
    """Keeps an existing stanza as it is when re-wrapping (e.g. a recipient's, which cnsec cannot redo)."""

    def __init__(self, stanza: Stanza) -> None:
        self.stanza = stanza

    def wrap(self, dek: bytes, object_id: bytes) -> Stanza:
        return dict(self.stanza)

    def describe(self) -> str:
        return describe_stanza(self.stanza)


# -- resolving ---------------------------------------------------------------------------------
class Unwrappers:
    """Everything the caller can open with; tries the stanzas it has a key for, in header order."""

    def __init__(self, unwrappers: Sequence[KeyUnwrapper]) -> None:
        self.unwrappers = list(unwrappers)

    def unwrap(self, stanzas: Sequence[Stanza], object_id: bytes) -> tuple[bytes, Stanza]:
        if not stanzas:
            raise TamperedHeaderError("the header holds no wrapped data key")
        first_error: CryptoError | None = None
        for stanza in stanzas:
            if not isinstance(stanza, dict):
                raise TamperedHeaderError("a key stanza in the header is not an object")
            for unwrapper in self.unwrappers:
                if unwrapper.handles(stanza):
                    try:
                        return unwrapper.unwrap(stanza, object_id), stanza
                    except CryptoError as exc:
                        first_error = first_error or exc
        if first_error is not None:
            raise first_error
        needed = ", ".join(describe_stanza(s) for s in stanzas)
        raise WrongKeyError(f"no available key opens this data; it was sealed for: {needed}")


def describe_stanza(stanza: Stanza) -> str:
    kind = stanza.get("type")
    if kind == "local":
        return f"local key {stanza.get('key')!r} v{stanza.get('version')}"
    if kind in ("x25519", "rsa-oaep-sha256"):
        return f"{kind} recipient {stanza.get('recipient')}"
    if kind == "vault-transit":
        return f"Vault transit key {stanza.get('mount')}/{stanza.get('key')}"
    if kind == "aws-kms":
        return f"AWS KMS key {stanza.get('key')}"
    return f"unknown provider {kind!r}"


# -- key files ---------------------------------------------------------------------------------
def load_recipient(spec: str) -> KeyWrapper:
    """``age1…`` inline, or a file holding an ``age1…`` line or a PEM RSA public key."""
    if spec.startswith("age1"):
        return _age_recipient(spec, Source("--recipient"))
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read recipient: {exc.strerror}", Source(spec)) from None
    if b"-----BEGIN" in data:
        try:
            public = serialization.load_pem_public_key(data)
        except ValueError:
            raise InputError("not a PEM public key", Source(spec)) from None
        if isinstance(public, rsa.RSAPublicKey):
            return RsaRecipient(public)
        if isinstance(public, X25519PublicKey):
            return X25519Recipient(public)
        raise InputError("recipient key must be RSA (>= 3072 bits) or X25519", Source(spec))
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if line.startswith("age1"):
            return _age_recipient(line, Source(spec, number))
    raise InputError("no age1… recipient or PEM public key found", Source(spec))


def _age_recipient(text: str, source: Source) -> X25519Recipient:
    try:
        hrp, raw = bech32_decode(text)
    except ValueError as exc:
        raise InputError(f"invalid age recipient: {exc}", source) from None
    if hrp != "age" or len(raw) != 32:
        raise InputError("invalid age recipient", source)
    return X25519Recipient(X25519PublicKey.from_public_bytes(raw))


def load_identity(path_text: str) -> KeyUnwrapper:
    """An ``AGE-SECRET-KEY-1…`` file (as written by age-keygen or ``keys keypair``) or a PEM private key."""
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read identity: {exc.strerror}", Source(path_text)) from None
    if b"-----BEGIN" in data:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise InputError("not an unencrypted PEM private key", Source(path_text)) from None
        if isinstance(private, rsa.RSAPrivateKey):
            return RsaIdentity(private)
        if isinstance(private, X25519PrivateKey):
            return X25519Identity(private)
        raise InputError("identity key must be RSA or X25519", Source(path_text))
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if line.upper().startswith("AGE-SECRET-KEY-1"):
            try:
                hrp, raw = bech32_decode(line)
            except ValueError:
                raise InputError("invalid age identity", Source(path_text, number)) from None
            if hrp != "age-secret-key-" or len(raw) != 32:
                raise InputError("invalid age identity", Source(path_text, number))
            return X25519Identity(X25519PrivateKey.from_private_bytes(raw))
    raise InputError("no AGE-SECRET-KEY-1… line or PEM private key found", Source(path_text))
